// Package clientip resolves the address of the client behind a request, the
// one way every covet package does it (rate-limit keys, access logs,
// trusted-proxy checks).
package clientip

import (
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/internal/peer"
)

// Addr returns the client address of r: the one chi's ClientIPFrom…
// middleware resolved from forwarded headers and its trusted proxies, when
// one ran before, else the direct peer (peer.Addr). A forwarded header is never
// read here: which proxies to believe is configured once, in that
// middleware. IPv4-mapped IPv6 addresses come back as IPv4, without a zone.
// The result is invalid when no address can be found.
func Addr(r *http.Request) netip.Addr {
	if ip := middleware.GetClientIPAddr(r.Context()); ip.IsValid() {
		return ip.Unmap().WithZone("")
	}
	return peer.Addr(r)
}
