package securehdr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// guard is the host check and the HTTPS redirect of [Headers], which share
// the request's host and scheme as the trusted proxies report them.
type guard struct {
	hosts    bool                // check the host
	exact    map[string]struct{} // normalised allowed hosts
	suffixes []string            // ".example.com" for "*.example.com"
	redirect bool                // redirect plain HTTP
	target   string              // fixed redirect host[:port], or ""
	exempt   map[string]struct{} // exact exempt paths
	subtrees []string            // exempt path prefixes ending in "/"
	onError  ErrorHandler
}

// newGuard returns nil when cfg asks for neither a host check nor a
// redirect. ExemptPaths are validated either way, so that a service can
// declare its probes once whatever its environment turns on.
func newGuard(cfg Config) (*guard, error) {
	g := &guard{redirect: cfg.RedirectHTTPS, onError: cfg.ErrorHandler}
	if g.onError == nil {
		g.onError = DefaultErrorHandler
	}
	if err := g.allow(cfg.AllowedHosts); err != nil {
		return nil, err
	}
	if err := g.exemptPaths(cfg.ExemptPaths); err != nil {
		return nil, err
	}
	if cfg.RedirectHost != "" {
		if !cfg.RedirectHTTPS {
			return nil, fmt.Errorf("%w: RedirectHost without RedirectHTTPS", ErrInvalidConfig)
		}
		var err error
		if g.target, err = redirectTarget(cfg.RedirectHost); err != nil {
			return nil, err
		}
	}
	if !g.hosts && !g.redirect {
		if cfg.ErrorHandler != nil {
			return nil, fmt.Errorf("%w: Config.ErrorHandler is set but nothing refuses a request (set AllowedHosts or RedirectHTTPS)", ErrInvalidConfig)
		}
		return nil, nil
	}
	return g, nil
}

// allow records the allowed hosts in normal form.
func (g *guard) allow(hosts []string) error {
	g.hosts = len(hosts) > 0
	g.exact = make(map[string]struct{}, len(hosts))
	for _, h := range hosts {
		wild := strings.HasPrefix(h, "*.")
		name := strings.TrimPrefix(h, "*.")
		if ip, err := netip.ParseAddr(name); err == nil && ip.Is6() && !wild {
			name = "[" + name + "]" // a bare IPv6 address in configuration
		}
		n, ok := NormalizeHost(name)
		if !ok || strings.HasPrefix(n, "[") && wild {
			return fmt.Errorf("%w: allowed host %q", ErrInvalidConfig, h)
		}
		if wild {
			g.suffixes = append(g.suffixes, "."+n)
		} else {
			g.exact[n] = struct{}{}
		}
	}
	return nil
}

// pass reports whether the request goes on to the next handler, after
// answering it itself when the host is refused or the request redirected.
func (g *guard) pass(w http.ResponseWriter, r *http.Request, p proxies, https bool) bool {
	if g.exempted(r.URL.Path) {
		return true
	}
	redirect := g.redirect && !https
	host := ""
	if g.hosts || redirect && g.target == "" {
		raw := r.Host
		if r.Header["X-Forwarded-Host"] != nil && p.trusts(r) {
			raw = firstValue(r, "X-Forwarded-Host")
		}
		var ok bool
		host, ok = NormalizeHost(raw)
		if !ok || g.hosts && !g.allowed(host) {
			g.onError(w, r, ErrHostNotAllowed)
			return false
		}
	}
	if !redirect {
		return true
	}
	if g.target != "" {
		host = g.target
	}
	w.Header()["Location"] = []string{"https://" + host + r.URL.RequestURI()}
	w.WriteHeader(http.StatusPermanentRedirect)
	return false
}

// allowed reports whether the normalised host n is allowed.
func (g *guard) allowed(n string) bool {
	if _, ok := g.exact[n]; ok {
		return true
	}
	for _, s := range g.suffixes {
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
