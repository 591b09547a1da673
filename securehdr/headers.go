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
// requests, trusting no proxy.
type Config struct {
	// CSP is the Content-Security-Policy. Nil means [DefaultCSP]. New takes
	// a copy.
	CSP *CSP

	// Override replaces default headers or adds headers by name. An empty
	// value removes the header, which is how CSP and HSTS are switched off;
	// otherwise those two are built from CSP and HSTS, so a non-empty value
	// for Content-Security-Policy(-Report-Only) or Strict-Transport-Security
	// is an error.
	Override map[string]string

	// HSTS tunes Strict-Transport-Security.
	HSTS HSTS

	// TrustedProxies lists the CIDRs or addresses of proxies whose
	// X-Forwarded-Proto is believed. Requests from anywhere else count as
	// HTTPS only when the connection itself is TLS.
	TrustedProxies []string
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
	hstsKey = "Strict-Transport-Security"
	year    = 365 * 24 * time.Hour
	// nonceBytes is the entropy of a CSP nonce; CSP asks for at least 128 bits.
	nonceBytes = 16
)

var nonceLen = base64.RawURLEncoding.EncodedLen(nonceBytes)

// Headers is the security-headers middleware built by [New]. It is safe for
// concurrent use.
type Headers struct {
	static  [][2]string // canonical key, value; written on every response
	csp     *compiledCSP
	hsts    string
	proxies proxies
}

// New validates cfg and returns the middleware. Errors wrap
// [ErrInvalidConfig] or [ErrInvalidCSP].
func New(cfg Config) (*Headers, error) {
	m := &Headers{}
	var err error
	if m.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	override := make(map[string]string, len(cfg.Override))
	for k, v := range cfg.Override {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("%w: header name %q", ErrInvalidConfig, k)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("%w: header %s: value %q holds a control character or surrounding space", ErrInvalidConfig, k, v)
		}
		ck := http.CanonicalHeaderKey(k)
		if _, dup := override[ck]; dup {
			return nil, fmt.Errorf("%w: header %s overridden twice", ErrInvalidConfig, ck)
		}
		override[ck] = v
	}
	cspOff, hstsOff := false, false
	for _, k := range [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only", hstsKey} {
		v, ok := override[k]
		if !ok {
			continue
		}
		if v != "" {
			return nil, fmt.Errorf("%w: set %s through Config.CSP or Config.HSTS, not Override", ErrInvalidConfig, k)
		}
		if k == hstsKey {
			hstsOff = true
		} else {
			cspOff = true
		}
		delete(override, k)
	}
	if cspOff && cfg.CSP != nil {
		return nil, fmt.Errorf("%w: Config.CSP is set but Override removes the policy", ErrInvalidConfig)
	}
	if !cspOff {
		policy := cfg.CSP
		if policy == nil {
			policy = DefaultCSP()
		}
		if m.csp, err = policy.compile(); err != nil {
			return nil, err
		}
		if !m.csp.nonced() {
			m.static = append(m.static, [2]string{m.csp.key, m.csp.parts[0]})
		}
		if m.csp.endpoints != "" {
			if _, ok := override["Reporting-Endpoints"]; !ok {
				m.static = append(m.static, [2]string{"Reporting-Endpoints", m.csp.endpoints})
			}
		}
		if !m.csp.nonced() {
			m.csp = nil
		}
	}
	for _, kv := range defaultHeaders {
		k := http.CanonicalHeaderKey(kv[0])
		if v, ok := override[k]; ok {
			delete(override, k)
			if v == "" {
				continue
			}
			kv[1] = v
		}
		m.static = append(m.static, [2]string{k, kv[1]})
	}
	extra := make([]string, 0, len(override))
	for k := range override {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	for _, k := range extra {
		if v := override[k]; v != "" {
			m.static = append(m.static, [2]string{k, v})
		}
	}
	if !hstsOff {
		if m.hsts, err = cfg.HSTS.value(); err != nil {
			return nil, err
		}
	}
	return m, nil
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

// Handler sets the headers on w before calling next, so they are present
// on every response, errors included. A later handler may still change or
// delete them. When the policy uses a nonce, next sees a request whose
// context carries it ([NonceFromContext]).
func (m *Headers) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		n := len(m.static)
		https := m.hsts != "" && m.proxies.isHTTPS(r)
		total := n
		if https {
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
		if https {
			vals[n] = m.hsts
			h[hstsKey] = vals[n : n+1 : n+1]
			n++
		}
		if m.csp != nil {
			value, nonce := m.csp.withNonce()
			vals[n] = value
			h[m.csp.key] = vals[n : n+1 : n+1]
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
// surrounding whitespace. The empty string is valid: it means "remove".
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; (ch < ' ' && ch != '\t') || ch == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(s) == s
}
