package securehdr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/covetgo/covet/internal/peer"
)

// proxies is a parsed list of trusted proxy networks. The zero value trusts
// nobody, so forwarded headers are ignored unless proxies are configured.
type proxies []netip.Prefix

// parseProxies accepts CIDRs ("10.0.0.0/8") and single addresses
// ("192.0.2.1", "::1").
func parseProxies(list []string) (proxies, error) {
	ps, err := peer.ParsePrefixes(list)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ps, nil
}

// trusts reports whether the request's direct peer is a trusted proxy.
func (p proxies) trusts(r *http.Request) bool { return peer.In(r, p) }

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
