// Package peer reads the direct peer of a request and checks it against
// trusted networks. It needs only the standard library, so packages that
// trust proxies without resolving client addresses link nothing more.
package peer

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Addr returns the address of the request's direct peer, from r.RemoteAddr
// ("host:port", "[v6]:port" or a bare address), unmapped and without a
// zone; invalid when RemoteAddr holds none.
func Addr(r *http.Request) netip.Addr {
	s := r.RemoteAddr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap().WithZone("")
}

// ParsePrefixes parses a list of CIDRs ("10.0.0.0/8") and single addresses
// ("192.0.2.1", "::1") into networks, masked and unmapped. An empty list
// gives nil. The error names the first entry that does not parse.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			if p.Addr().Is4In6() {
				bits := p.Bits() - 96
				if bits < 0 {
					return nil, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix shorter than /96", s)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), bits)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// In reports whether the request's direct peer is in one of prefixes.
func In(r *http.Request, prefixes []netip.Prefix) bool {
	if len(prefixes) == 0 {
		return false
	}
	a := Addr(r)
	if !a.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
