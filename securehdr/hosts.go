package securehdr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// HostsConfig configures [NewAllowedHosts]. The zero value checks the Host
// header only and answers refused requests with [DefaultErrorHandler].
type HostsConfig struct {
	// TrustedProxies lists the CIDRs or addresses of proxies whose
	// X-Forwarded-Host is checked instead of Host.
	TrustedProxies []string
	// ErrorHandler writes the refusal; nil means [DefaultErrorHandler]. It
	// receives [ErrHostNotAllowed].
	ErrorHandler ErrorHandler
}

// AllowedHosts refuses requests for hosts it does not serve, which defeats
// DNS rebinding and Host-header poisoning of generated links. It is safe
// for concurrent use.
type AllowedHosts struct {
	exact    map[string]struct{}
	suffixes []string // ".example.com" for "*.example.com"
	proxies  proxies
	onError  ErrorHandler
}

// NewAllowedHosts returns a middleware that passes only requests whose
// host, once normalised (lower case, port and trailing dot removed,
// internationalised names in their ASCII form, IPv6 literals in brackets),
// is one of hosts. An entry "*.example.com" matches any subdomain of
// example.com but not example.com itself. Errors wrap [ErrInvalidConfig].
func NewAllowedHosts(hosts []string, cfg HostsConfig) (*AllowedHosts, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: no allowed hosts", ErrInvalidConfig)
	}
	a := &AllowedHosts{exact: make(map[string]struct{}, len(hosts)), onError: cfg.ErrorHandler}
	if a.onError == nil {
		a.onError = DefaultErrorHandler
	}
	var err error
	if a.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	for _, h := range hosts {
		wild := strings.HasPrefix(h, "*.")
		name := strings.TrimPrefix(h, "*.")
		if ip, err := netip.ParseAddr(name); err == nil && ip.Is6() && !wild {
			name = "[" + name + "]" // a bare IPv6 address in configuration
		}
		n, ok := NormalizeHost(name)
		if !ok || strings.HasPrefix(n, "[") && wild {
			return nil, fmt.Errorf("%w: allowed host %q", ErrInvalidConfig, h)
		}
		if wild {
			a.suffixes = append(a.suffixes, "."+n)
		} else {
			a.exact[n] = struct{}{}
		}
	}
	return a, nil
}

// Handler passes allowed requests to next and refuses the others.
func (a *AllowedHosts) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if a.proxies != nil && r.Header["X-Forwarded-Host"] != nil && a.proxies.trusts(r) {
			host = firstValue(r, "X-Forwarded-Host")
		}
		if !a.Allowed(host) {
			a.onError(w, r, ErrHostNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Allowed reports whether host (as found in a Host header) is allowed.
func (a *AllowedHosts) Allowed(host string) bool {
	n, ok := NormalizeHost(host)
	if !ok {
		return false
	}
	if _, ok := a.exact[n]; ok {
		return true
	}
	for _, s := range a.suffixes {
		if len(n) > len(s) && strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// NormalizeHost returns the comparable form of a Host header value:
// lower case, without port or trailing dot, an internationalised name in
// its ASCII (punycode) form, and an IPv6 literal in brackets in its
// canonical text. ok is false for anything that is not a valid host.
// A host that is already normal is returned without allocating.
func NormalizeHost(host string) (normal string, ok bool) {
	if host == "" || len(host) > 300 {
		return "", false
	}
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		if end < 0 || !validPort(host[end+1:]) {
			return "", false
		}
		addr, err := netip.ParseAddr(host[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		var buf [64]byte
		if s := addr.AppendTo(buf[:0]); string(s) != host[1:end] {
			return "[" + string(s) + "]", true
		}
		return host[:end+1], true
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if !validPort(host[i:]) {
			return "", false
		}
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", false
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		if !utf8.ValidString(host) {
			return "", false
		}
		s, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", false
		}
		host = strings.TrimSuffix(s, ".")
	}
	host = strings.ToLower(host)
	if !validDNSName(host) {
		return "", false
	}
	return host, true
}

// validPort accepts "" or ":" followed by 1 to 5 digits up to 65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != ':' || len(p) < 2 || len(p) > 6 {
		return false
	}
	n := 0
	for i := 1; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// validDNSName accepts lower-case dot-separated labels of letters, digits,
// '-' and '_' (seen in internal names), each 1 to 63 bytes, 253 in all.
func validDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case ch >= 'a' && ch <= 'z', isDigit(ch), ch == '-', ch == '_':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0
}
