package securehdr

import (
	"fmt"
	"net/http"
	"strings"
)

// RedirectConfig configures [NewRedirect]. The zero value redirects every
// plain-HTTP request to the same host over HTTPS, trusting no proxy.
type RedirectConfig struct {
	// TrustedProxies lists the CIDRs or addresses of proxies whose
	// X-Forwarded-Proto and X-Forwarded-Host are believed. From any other
	// peer those headers are ignored, so a client cannot skip the redirect.
	TrustedProxies []string
	// ExemptPaths are exact URL paths served over plain HTTP too, such as
	// health probes that a load balancer sends without TLS.
	ExemptPaths []string
	// Host, when set, is the host[:port] to redirect to, instead of the
	// request's host without its port.
	Host string
	// ErrorHandler answers a request whose host is not valid, so no
	// redirect can be built; nil means [DefaultErrorHandler]. It receives
	// [ErrHostNotAllowed].
	ErrorHandler ErrorHandler
}

// Redirect sends plain-HTTP requests to HTTPS with 308 Permanent Redirect,
// which keeps the method and body. Unless [RedirectConfig.Host] is set, the
// target host comes from the request, so place [AllowedHosts] before it to
// keep redirects on hosts the service owns. It is safe for concurrent use.
type Redirect struct {
	proxies proxies
	exempt  map[string]struct{}
	host    string
	onError ErrorHandler
}

// NewRedirect validates cfg and returns the redirect middleware. Errors
// wrap [ErrInvalidConfig].
func NewRedirect(cfg RedirectConfig) (*Redirect, error) {
	rd := &Redirect{exempt: make(map[string]struct{}, len(cfg.ExemptPaths)), onError: cfg.ErrorHandler}
	if rd.onError == nil {
		rd.onError = DefaultErrorHandler
	}
	var err error
	if rd.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	for _, p := range cfg.ExemptPaths {
		if !strings.HasPrefix(p, "/") || !validHeaderValue(p) || strings.ContainsAny(p, " ?#") {
			return nil, fmt.Errorf("%w: exempt path %q must be a path starting with /", ErrInvalidConfig, p)
		}
		rd.exempt[p] = struct{}{}
	}
	if cfg.Host != "" {
		port := ""
		name := cfg.Host
		if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.HasSuffix(name, "]") {
			name, port = name[:i], name[i:]
		}
		n, ok := NormalizeHost(name)
		if !ok || !validPort(port) || port == ":" {
			return nil, fmt.Errorf("%w: redirect host %q", ErrInvalidConfig, cfg.Host)
		}
		rd.host = n + port
	}
	return rd, nil
}

// Handler redirects plain-HTTP requests to HTTPS and passes HTTPS requests
// and exempt paths to next.
func (rd *Redirect) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rd.proxies.isHTTPS(r) {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := rd.exempt[r.URL.Path]; ok {
			next.ServeHTTP(w, r)
			return
		}
		host := rd.host
		if host == "" {
			raw := r.Host
			if r.Header["X-Forwarded-Host"] != nil && rd.proxies.trusts(r) {
				raw = firstValue(r, "X-Forwarded-Host")
			}
			n, ok := NormalizeHost(raw)
			if !ok {
				rd.onError(w, r, ErrHostNotAllowed)
				return
			}
			host = n
		}
		w.Header()["Location"] = []string{"https://" + host + r.URL.RequestURI()}
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}
