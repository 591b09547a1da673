package securehdr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies is a parsed list of trusted proxy networks. The zero value trusts
// nobody, so forwarded headers are ignored unless proxies are configured.
type proxies []netip.Prefix

// parseProxies accepts CIDRs ("10.0.0.0/8") and single addresses
// ("192.0.2.1", "::1").
func parseProxies(list []string) (proxies, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make(proxies, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%w: trusted proxy %q: %v", ErrInvalidConfig, s, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted proxy %q: %v", ErrInvalidConfig, s, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusts reports whether the request's direct peer is a trusted proxy.
func (p proxies) trusts(r *http.Request) bool {
	if len(p) == 0 {
		return false
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// firstValue returns the first comma-separated element of a header, trimmed.
func firstValue(r *http.Request, key string) string {
	v := r.Header[key]
	if len(v) == 0 {
		return ""
	}
	s := v[0]
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// isHTTPS reports whether the client reached us over HTTPS: the connection
// is TLS, or a trusted proxy says so in X-Forwarded-Proto.
func (p proxies) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if _, ok := r.Header["X-Forwarded-Proto"]; !ok || !p.trusts(r) {
		return false
	}
	return strings.EqualFold(firstValue(r, "X-Forwarded-Proto"), "https")
}
