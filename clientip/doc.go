// Package clientip resolves the address of the client behind a request, the
// one way every covet package does it (rate-limit keys, access logs).
//
// # Resolving
//
// Without configuration the client is the request's direct peer
// ([http.Request.RemoteAddr]): [Addr] never reads a forwarded header by
// itself, since any client can send one. Behind reverse proxies, build a
// [Resolver] with the networks of the proxies you trust and put its Handler
// in front of everything that asks for the client address:
//
//	ips, err := clientip.New([]string{"10.0.0.0/8"}) // reads X-Forwarded-For
//	// or, when the proxies write RFC 7239's header:
//	// ips, err := clientip.New(trusted, clientip.WithHeader(clientip.Forwarded))
//	handler := ips.Handler(mux)
//
// The Resolver reads exactly one header, the one your proxies write: a
// header the proxies pass through untouched is written by the client, and
// reading it would let the client choose its own address. It walks the
// header from the right, starting at the direct peer: while the hop it is
// at is a trusted proxy, the value that proxy appended (the address of its
// own peer) is believed. The first untrusted address is the client. When
// the peer is not a trusted proxy, the header is ignored. When a trusted
// proxy wrote something that is not an address ("unknown", an obfuscated
// RFC 7239 identifier, garbage), the client is that proxy.
//
// The result is stored in the request context ([WithAddr]); [Addr] and
// [AddrFromContext] read it. Addresses come back unmapped (IPv4-mapped IPv6
// as IPv4) and without a zone.
//
// The package links only the standard library and works the same on
// [net/http.ServeMux] and on chi.
package clientip
