package securehdr

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config configures [New]. The zero value sends the default headers listed
// in the package documentation, the [DefaultCSP] policy, and HSTS on HTTPS
// requests, trusting no proxy, checking no host and redirecting nothing.
type Config struct {
	// CSP is the Content-Security-Policy. Nil means [DefaultCSP]. New takes
	// a copy.
	CSP *CSP

	// HSTS tunes Strict-Transport-Security. Setting it while Omit drops
	// Strict-Transport-Security is an error.
	HSTS HSTS

	// Override replaces default header values or adds headers, by name.
	// Values may not be empty (list a header in Omit to stop sending it),
	// and Content-Security-Policy(-Report-Only) and
	// Strict-Transport-Security are set through CSP and HSTS, not here.
	Override map[string]string

	// Omit lists default headers not to send, by name:
	// "Content-Security-Policy" switches the policy off,
	// "Strict-Transport-Security" switches HSTS off. Naming a header that
	// is not a default, or one that Override also sets, is an error.
	Omit []string

	// TrustedProxies lists the CIDRs or addresses of the reverse proxies
	// whose X-Forwarded-Proto and X-Forwarded-Host are believed, for every
	// decision the middleware makes: HSTS, the HTTPS redirect and the host
	// check. From any other peer those headers are ignored, so a client
	// cannot skip the redirect or pass the host check by sending them.
	TrustedProxies []string

	// AllowedHosts, when not empty, refuses requests for any other host,
	// which defeats DNS rebinding and Host-header poisoning of generated
	// links. Hosts are compared once normalised ([NormalizeHost]); an entry
	// "*.example.com" matches any subdomain of example.com but not
	// example.com itself. The host is checked before any redirect is built.
	AllowedHosts []string

	// RedirectHTTPS answers plain-HTTP requests with 308 Permanent Redirect
	// (method and body kept) to the same URL over HTTPS. Without
	// RedirectHost the target host comes from the request: set
	// AllowedHosts too, so redirects stay on hosts the service owns.
	RedirectHTTPS bool

	// RedirectHost, when set, is the host[:port] to redirect to, instead
	// of the request's host without its port.
	RedirectHost string

	// ExemptPaths are URL paths that skip the host check and the redirect
	// (they still get the headers), such as health probes that
	// orchestrators send over plain HTTP to a pod address. An entry is an
	// exact path, or a subtree when it ends in "/", as in ServeMux. They
	// are validated even when neither check is on, so a service may
	// declare its probes whatever its environment enables.
	ExemptPaths []string

	// ErrorHandler writes the refusal of a request whose host is not
	// allowed, or not valid enough to build a redirect; nil means
	// [DefaultErrorHandler]. It receives [ErrHostNotAllowed]. Setting it
	// without AllowedHosts or RedirectHTTPS is an error: it would never run.
	ErrorHandler ErrorHandler
}

// HSTS tunes the Strict-Transport-Security header, which is sent only on
// HTTPS requests. The zero value sends "max-age=31536000; includeSubDomains".
type HSTS struct {
	// MaxAge is how long browsers remember to use HTTPS only; 0 means one
	// year. It is sent in whole seconds and must not be negative.
	MaxAge time.Duration
	// ExcludeSubdomains drops includeSubDomains.
	ExcludeSubdomains bool
	// Preload adds preload, asking to be listed in browsers' preload lists.
	// It requires includeSubDomains and a MaxAge of at least one year, and is
	// hard to undo: opt in deliberately.
	Preload bool
}

// defaultHeaders are the headers sent besides CSP and HSTS, in order.
var defaultHeaders = [...][2]string{
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"X-XSS-Protection", "0"},
	{"X-Permitted-Cross-Domain-Policies", "none"},
}

const (
	cspKey           = "Content-Security-Policy"
	cspReportOnlyKey = "Content-Security-Policy-Report-Only"
	hstsKey          = "Strict-Transport-Security"
	year             = 365 * 24 * time.Hour
	// nonceBytes is the entropy of a CSP nonce; CSP asks for at least 128 bits.
	nonceBytes = 16
)

var nonceLen = base64.RawURLEncoding.EncodedLen(nonceBytes)

// Headers is the middleware built by [New]: security headers, and the
// host check and HTTPS redirect when configured. It is safe for concurrent
// use.
type Headers struct {
	static  [][2]string // canonical key, value; written on every response
	csp     *compiledCSP
	hsts    string
	proxies proxies
	guard   *guard // host check and redirect; nil when neither is on
}

// New validates cfg and returns the middleware. Errors match
// [ErrInvalidConfig], and [ErrInvalidCSP] too for a policy that does not
// validate. A setting that would have no effect (HSTS with HSTS omitted, an
// ErrorHandler with nothing that refuses) is an error rather than ignored.
func New(cfg Config) (*Headers, error) {
	m := &Headers{}
	var err error
	if m.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	override, omit, err := headerChanges(cfg.Override, cfg.Omit)
	if err != nil {
		return nil, err
	}
	if omit[cspKey] {
		if cfg.CSP != nil {
			return nil, fmt.Errorf("%w: Config.CSP is set but Omit drops the policy", ErrInvalidConfig)
		}
	} else if err := m.setPolicy(cfg.CSP, override); err != nil {
		return nil, err
	}
	m.static = appendHeaders(m.static, override, omit)
	if omit[hstsKey] {
		if cfg.HSTS != (HSTS{}) {
			return nil, fmt.Errorf("%w: Config.HSTS is set but Omit drops Strict-Transport-Security", ErrInvalidConfig)
		}
	} else if m.hsts, err = cfg.HSTS.value(); err != nil {
		return nil, err
	}
	if m.guard, err = newGuard(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// headerChanges validates Override and Omit and returns them keyed by
// canonical header name.
func headerChanges(set map[string]string, omitted []string) (override map[string]string, omit map[string]bool, err error) {
	override = make(map[string]string, len(set))
	for k, v := range set {
		if !validHeaderName(k) {
			return nil, nil, fmt.Errorf("%w: header name %q", ErrInvalidConfig, k)
		}
		if v == "" {
			return nil, nil, fmt.Errorf("%w: header %s: empty value (list it in Omit to stop sending it)", ErrInvalidConfig, k)
		}
		if !validHeaderValue(v) {
			return nil, nil, fmt.Errorf("%w: header %s: value %q holds a control character or surrounding space", ErrInvalidConfig, k, v)
		}
		ck := http.CanonicalHeaderKey(k)
		if _, dup := override[ck]; dup {
			return nil, nil, fmt.Errorf("%w: header %s overridden twice", ErrInvalidConfig, ck)
		}
		if ck == cspKey || ck == cspReportOnlyKey || ck == hstsKey {
			return nil, nil, fmt.Errorf("%w: set %s through Config.CSP or Config.HSTS, not Override", ErrInvalidConfig, ck)
		}
		override[ck] = v
	}
	omit = make(map[string]bool, len(omitted))
	for _, k := range omitted {
		ck := http.CanonicalHeaderKey(k)
		if !isDefaultHeader(ck) {
			return nil, nil, fmt.Errorf("%w: Omit: %q is not a header sent by default", ErrInvalidConfig, k)
		}
		if _, ok := override[ck]; ok {
			return nil, nil, fmt.Errorf("%w: header %s is both overridden and omitted", ErrInvalidConfig, ck)
		}
		omit[ck] = true
	}
	return override, omit, nil
}

func isDefaultHeader(canonical string) bool {
	if canonical == cspKey || canonical == hstsKey {
		return true
	}
	for _, kv := range defaultHeaders {
		if http.CanonicalHeaderKey(kv[0]) == canonical {
			return true
		}
	}
	return false
}

// setPolicy compiles the policy (nil means [DefaultCSP]). A policy without
// a nonce becomes a static header; one with a nonce is kept for Handler.
func (m *Headers) setPolicy(policy *CSP, override map[string]string) error {
	if policy == nil {
		policy = DefaultCSP()
	}
	p, err := policy.compile()
	if err != nil {
		return err
	}
	if p.nonced() {
		m.csp = p
	} else {
		m.static = append(m.static, [2]string{p.key, p.parts[0]})
	}
	if p.endpoints != "" {
		if _, ok := override["Reporting-Endpoints"]; !ok {
			m.static = append(m.static, [2]string{"Reporting-Endpoints", p.endpoints})
		}
	}
	return nil
}

// appendHeaders appends the default headers, changed by override and
// omit, then the added headers in name order.
func appendHeaders(static [][2]string, override map[string]string, omit map[string]bool) [][2]string {
	used := 0
	for _, kv := range defaultHeaders {
		k := http.CanonicalHeaderKey(kv[0])
		if omit[k] {
			continue
		}
		if v, ok := override[k]; ok {
			kv[1] = v
			used++
		}
		static = append(static, [2]string{k, kv[1]})
	}
	extra := make([]string, 0, len(override)-used)
	for k := range override {
		if !isDefaultHeader(k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		static = append(static, [2]string{k, override[k]})
	}
	return static
}

func (h HSTS) value() (string, error) {
	age := h.MaxAge
	if age < 0 {
		return "", fmt.Errorf("%w: HSTS max-age %v is negative", ErrInvalidConfig, age)
	}
	if age == 0 {
		age = year
	}
	if h.Preload && (h.ExcludeSubdomains || age < year) {
		return "", fmt.Errorf("%w: HSTS preload needs includeSubDomains and a max-age of at least one year", ErrInvalidConfig)
	}
	v := "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
	if !h.ExcludeSubdomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v, nil
}

// Handler sets the headers on w, then checks the host and redirects
// plain-HTTP requests when configured, then calls next. The headers are
// set first so that every response, refusals and errors included, carries
// them; a later handler may still change or delete them. When the policy
// uses a nonce, next sees a request whose context carries it
// ([NonceFromContext]).
func (m *Headers) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		n := len(m.static)
		https := (m.hsts != "" || m.guard != nil) && m.proxies.isHTTPS(r)
		sendHSTS := https && m.hsts != ""
		total := n
		if sendHSTS {
			total++
		}
		if m.csp != nil {
			total++
		}
		// One backing array per response: each header gets its own
		// capacity-1 slice, so a handler appending to or editing one
		// header never touches another response's values.
		vals := make([]string, total)
		for i, kv := range m.static {
			vals[i] = kv[1]
			h[kv[0]] = vals[i : i+1 : i+1]
		}
		if sendHSTS {
			vals[n] = m.hsts
			h[hstsKey] = vals[n : n+1 : n+1]
			n++
		}
		nonce := ""
		if m.csp != nil {
			vals[n], nonce = m.csp.withNonce()
			h[m.csp.key] = vals[n : n+1 : n+1]
		}
		if m.guard != nil && !m.guard.pass(w, r, m.proxies, https) {
			return
		}
		if m.csp != nil {
			r = r.WithContext(&nonceContext{Context: r.Context(), nonce: nonce})
		}
		next.ServeHTTP(w, r)
	})
}

// withNonce returns the header value with a fresh nonce and the nonce, a
// substring of the value, from one allocation.
func (p *compiledCSP) withNonce() (value, nonce string) {
	var raw [nonceBytes]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails since Go 1.24
	var enc [32]byte
	base64.RawURLEncoding.Encode(enc[:], raw[:])
	var b strings.Builder
	b.Grow(p.size + nonceLen*(len(p.parts)-1))
	first := 0
	for i, part := range p.parts {
		if i > 0 {
			if first == 0 {
				first = b.Len()
			}
			b.Write(enc[:nonceLen])
		}
		b.WriteString(part)
	}
	value = b.String()
	return value, value[first : first+nonceLen]
}

type nonceKey struct{}

// nonceContext carries the nonce without a separate context.WithValue
// allocation and boxed string.
type nonceContext struct {
	context.Context
	nonce string
}

func (c *nonceContext) Value(key any) any {
	if key == (nonceKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// NonceFromContext returns the CSP nonce of the request whose context is
// ctx, for templates to put in nonce="…" attributes, or "" when the policy
// has no nonce.
func NonceFromContext(ctx context.Context) string {
	if c, ok := ctx.Value(nonceKey{}).(*nonceContext); ok {
		return c.nonce
	}
	return ""
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if isAlpha(ch) || isDigit(ch) || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue rejects control characters (so no header injection) and
// surrounding whitespace.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; (ch < ' ' && ch != '\t') || ch == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(s) == s
}
