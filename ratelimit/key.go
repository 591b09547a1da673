package ratelimit

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/covetgo/covet/clientip"
)

// KeyFunc returns the rate-limit key of a request; "" means the request has
// no key (see [EmptyKeyPolicy]).
type KeyFunc func(r *http.Request) string

// KeyByIP keys requests by the client address, the default key:
// [clientip.Addr], the address a clientip.Resolver resolved when one runs
// before, else the host of r.RemoteAddr. It never reads a forwarded header
// itself: put a clientip.Resolver (with your trusted proxies) in front when
// the service is behind a proxy.
//
// IPv4-mapped IPv6 addresses are reported as IPv4, and IPv6 addresses are
// grouped by their /64 prefix ("2001:db8:1:2::/64"), because one host
// usually controls a whole /64 and could otherwise rotate addresses to
// escape the limit. It returns "" when no address can be found. As the
// default (no [WithKeyFunc]) it takes a faster path that builds the key in
// place.
func KeyByIP(r *http.Request) string {
	var buf [64]byte
	b := appendAddr(buf[:0], clientip.Addr(r))
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// KeyByAddr keys requests by the address addr returns, grouped as
// [KeyByIP] groups them (IPv6 by /64); an invalid address means no key.
// Use it with an address resolver other than a [clientip.Resolver] in
// front (which [KeyByIP] already reads). A nil
// addr gives a nil KeyFunc, which [New] refuses.
func KeyByAddr(addr func(r *http.Request) netip.Addr) KeyFunc {
	if addr == nil {
		return nil
	}
	return func(r *http.Request) string {
		var buf [64]byte
		b := appendAddr(buf[:0], addr(r))
		if len(b) == 0 {
			return ""
		}
		return string(b)
	}
}

// appendAddr appends the key of ip to b, or nothing when ip is invalid.
func appendAddr(b []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return b
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.AppendTo(b)
	}
	p, _ := ip.Prefix(64)
	b = p.Addr().AppendTo(b)
	return append(b, "/64"...)
}

// KeyByHeader keys requests by the value of the named request header. The
// header is chosen by the client: combine it with [KeyByIP] (see [KeyBy]) or
// use it only for values a trusted layer has checked, such as an API key
// already authenticated.
func KeyByHeader(name string) KeyFunc {
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) string { return r.Header.Get(name) }
}

// KeyByRoute keys requests by their route pattern, [http.Request.Pattern]:
// set by ServeMux ("GET /items/{id}") and by chi v5.5, the version this
// module requires ("/items/{id}", the full pattern of nested routers). The
// pattern is known
// only once routing has happened, so use the limiter inside the route
// (chi's With or Route, or wrapping the handler given to ServeMux), not in
// front of the router: there it is "" and the request has no key.
func KeyByRoute(r *http.Request) string { return r.Pattern }

// KeyByUser keys requests by the authenticated user that user returns from
// the request context ("" when not authenticated). A nil user gives a nil
// KeyFunc, which [New] refuses.
func KeyByUser(user func(ctx context.Context) string) KeyFunc {
	if user == nil {
		return nil
	}
	return func(r *http.Request) string { return user(r.Context()) }
}

// KeyBy combines keys: the result is empty if any part is empty, and parts
// are length-prefixed so that no choice of values can make two different
// combinations collide. A nil part (or none) gives a nil KeyFunc, which
// [New] refuses.
func KeyBy(parts ...KeyFunc) KeyFunc {
	if len(parts) == 0 {
		return nil
	}
	for _, f := range parts {
		if f == nil {
			return nil
		}
	}
	return func(r *http.Request) string {
		var b []byte
		for i, f := range parts {
			v := f(r)
			if v == "" {
				return ""
			}
			if i > 0 {
				b = append(b, '|')
			}
			b = strconv.AppendInt(b, int64(len(v)), 10)
			b = append(b, ':')
			b = append(b, v...)
		}
		return string(b)
	}
}
