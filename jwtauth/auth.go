package jwtauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/jsonbody"
)

// Defaults, each changed by the option named in its comment.
const (
	// defaultAccessTTL is the lifetime of access tokens ([WithAccessTTL]).
	defaultAccessTTL = 15 * time.Minute
	// defaultRefreshTTL is the lifetime of refresh tokens ([WithRefreshTTL]).
	defaultRefreshTTL = 7 * 24 * time.Hour
	// defaultLeeway is the clock skew allowed on exp, nbf and iat
	// ([WithLeeway]).
	defaultLeeway = 30 * time.Second
	// maxLeeway is the largest leeway [WithLeeway] accepts.
	maxLeeway = 60 * time.Second
	// defaultMaxTokenSize caps a token's length in bytes before parsing
	// ([WithMaxTokenSize]).
	defaultMaxTokenSize = 4096
	// defaultAccessCookie, defaultRefreshCookie and defaultCSRFCookie are the
	// cookie names ([WithCookies]). The __Host- prefix makes the browser
	// accept them only over HTTPS, with Path=/ and no Domain, so a sibling
	// subdomain cannot plant or overwrite them.
	defaultAccessCookie  = "__Host-access"
	defaultRefreshCookie = "__Host-refresh"
	defaultCSRFCookie    = "__Host-csrf"
	// CSRFHeader carries the CSRF token on cookie-authenticated unsafe
	// requests.
	CSRFHeader = "X-CSRF-Token"
)

// Option configures [New].
type Option func(*config)

type config struct {
	issuer           string
	audience         []string
	accessTTL        time.Duration
	refreshTTL       time.Duration
	leeway           time.Duration
	maxTokenSize     int
	cacheSize        int
	refresh          RefreshStore
	denylist         Denylist
	denylistFailOpen bool
	accessCookie     string
	refreshCookie    string
	csrfCookie       string
	refreshPath      string
	noCookies        bool
	origins          []string
	errorHandler     func(http.ResponseWriter, *http.Request, error)
	now              func() time.Time
	// given lists the options applied, by name, so that a constructor can
	// refuse one that does not apply to it instead of ignoring it.
	given []string
}

// use records that the option named name was applied.
func (c *config) use(name string) { c.given = append(c.given, name) }

// has reports whether the option named name was applied.
func (c *config) has(name string) bool { return slices.Contains(c.given, name) }

// WithIssuer sets the iss claim of issued tokens and requires it on verified
// ones. Unset, tokens carry no iss and none is checked.
func WithIssuer(iss string) Option {
	return func(c *config) { c.use("WithIssuer"); c.issuer = iss }
}

// WithAudience sets the aud claim of issued tokens and requires one of aud on
// verified ones. Unset, tokens carry no aud and none is checked.
func WithAudience(aud ...string) Option {
	return func(c *config) { c.use("WithAudience"); c.audience = append([]string(nil), aud...) }
}

// WithAccessTTL sets the lifetime of access tokens (default 15 minutes, at
// most 24 hours: revocation is cheap only for short-lived tokens).
func WithAccessTTL(d time.Duration) Option {
	return func(c *config) { c.use("WithAccessTTL"); c.accessTTL = d }
}

// WithRefreshTTL sets the lifetime of each refresh token (default 7 days);
// every rotation starts a new one.
func WithRefreshTTL(d time.Duration) Option {
	return func(c *config) { c.use("WithRefreshTTL"); c.refreshTTL = d }
}

// WithLeeway sets the clock skew allowed on exp, nbf and iat (default 30 s,
// at most 60 s).
func WithLeeway(d time.Duration) Option {
	return func(c *config) { c.use("WithLeeway"); c.leeway = d }
}

// WithMaxTokenSize caps the length of a token before any parsing (default
// 4096 bytes, between 256 and 65536).
func WithMaxTokenSize(n int) Option {
	return func(c *config) { c.use("WithMaxTokenSize"); c.maxTokenSize = n }
}

// WithRefreshStore sets where refresh token hashes are kept; [Auth.Issue] and
// [Auth.Refresh] need one.
func WithRefreshStore(s RefreshStore) Option {
	return func(c *config) { c.use("WithRefreshStore"); c.refresh = s }
}

// WithDenylist enables revocation: every verified token is checked against
// the jti denylist and its subject's "not before" time, at the cost of one
// store lookup per request. Without it [Auth.Revoke] and [Auth.RevokeAll]
// return an error.
func WithDenylist(d Denylist) Option {
	return func(c *config) { c.use("WithDenylist"); c.denylist = d }
}

// WithDenylistFailOpen makes a denylist failure accept the token instead of
// refusing the request (the default, fail closed, answers 503). Fail open
// keeps authenticated routes serving through a store outage at the price of
// honouring, for the outage's length, tokens revoked before it; fail closed
// never honours a revoked token but makes every authenticated route wait for
// the store. Choose by what a revoked token could still do in your service.
// It needs [WithDenylist]; alone it is refused by [New].
func WithDenylistFailOpen() Option {
	return func(c *config) { c.use("WithDenylistFailOpen"); c.denylistFailOpen = true }
}

// WithCookies sets the names of the access, refresh and CSRF cookies
// (default __Host-access, __Host-refresh and __Host-csrf: the __Host- prefix
// makes the browser accept them only over HTTPS, with Path=/ and no Domain,
// so a sibling subdomain cannot plant or overwrite them). Names
// starting with __Host- are checked against that prefix's rules.
func WithCookies(access, refresh, csrf string) Option {
	return func(c *config) {
		c.use("WithCookies")
		c.accessCookie, c.refreshCookie, c.csrfCookie = access, refresh, csrf
	}
}

// WithRefreshCookiePath limits the refresh cookie to a path such as
// "/auth/refresh" so it is not sent with every request. A refresh cookie
// named with the __Host- prefix must keep Path=/.
func WithRefreshCookiePath(path string) Option {
	return func(c *config) { c.use("WithRefreshCookiePath"); c.refreshPath = path }
}

// WithoutCookies makes the middleware accept only Authorization: Bearer,
// which needs no CSRF protection.
func WithoutCookies() Option {
	return func(c *config) { c.use("WithoutCookies"); c.noCookies = true }
}

// WithTrustedOrigins lists origins (scheme://host[:port]) whose cross-origin
// cookie-authenticated requests are allowed, as
// [http.CrossOriginProtection.AddTrustedOrigin].
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.use("WithTrustedOrigins"); c.origins = append(c.origins, origins...) }
}

// WithErrorHandler replaces the response written when the middleware, or
// the login, refresh or logout handler, refuses a request. err wraps
// [ErrNoToken], [ErrTokenInvalid], [ErrCSRF], [ErrForbidden],
// [ErrBadRequest], [ErrInvalidCredentials], [ErrRefreshInvalid], is a
// [LockedOut] error or, for a store failure or a failure of the caller's
// check, something else; a handler must not echo it to the client. The
// default writes an RFC 9457 problem whose status each of those names
// documents. It must not be nil.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.use("WithErrorHandler"); c.errorHandler = h }
}

// WithClock sets the clock of an [Auth] or a [MemoryStore] (default
// time.Now), so that tests of code using them move time forward instead of
// sleeping: a token issued, then the clock advanced past its expiry, is
// refused at once. Give an Auth and its MemoryStore the same clock, or the
// store judges expiry by another time than the tokens. It is rarely needed
// with [testing/synctest], whose bubble fakes time.Now for everything.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.use("WithClock"); c.now = now }
}

// Auth issues, verifies, refreshes and revokes tokens, and serves the
// middleware. C is [Claims] or a struct embedding it. Build it with [New]; an
// Auth is safe for concurrent use.
type Auth[C any, P ClaimsPointer[C]] struct {
	cfg   config
	state atomic.Pointer[ringState[C]]
	cop   *http.CrossOriginProtection
	body  *jsonbody.Decoder // the handlers' request bodies
}

// Default is the Auth of the package's own [Claims], the type
// New[Claims](ring) returns: a field holding one is declared *jwtauth.Default
// rather than *jwtauth.Auth[jwtauth.Claims, *jwtauth.Claims].
type Default = Auth[Claims, *Claims]

// ringState is swapped whole by SetKeyRing, so the verified-token cache,
// which belongs to one ring, is dropped with it.
type ringState[C any] struct {
	ring   *KeyRing
	parser *jwt.Parser
	cache  *verifiedCache[C]
}

// New returns an Auth that signs with ring's current key. Configuration
// mistakes (a leeway over 60 s, a __Host- cookie with a path, a bad trusted
// origin) are reported here.
func New[C any, P ClaimsPointer[C]](ring *KeyRing, opts ...Option) (*Auth[C, P], error) {
	cfg := config{
		accessTTL:     defaultAccessTTL,
		refreshTTL:    defaultRefreshTTL,
		leeway:        defaultLeeway,
		maxTokenSize:  defaultMaxTokenSize,
		cacheSize:     defaultVerifiedCache,
		accessCookie:  defaultAccessCookie,
		refreshCookie: defaultRefreshCookie,
		csrfCookie:    defaultCSRFCookie,
		refreshPath:   "/",
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkGiven(&cfg); err != nil {
		return nil, err
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.errorHandler == nil {
		cfg.errorHandler = writeError
	}
	switch {
	case cfg.accessTTL <= 0 || cfg.accessTTL > 24*time.Hour:
		return nil, fmt.Errorf("%w: access TTL %v outside (0, 24h]", ErrInvalidConfig, cfg.accessTTL)
	case cfg.refreshTTL < cfg.accessTTL || cfg.refreshTTL > 400*24*time.Hour:
		return nil, fmt.Errorf("%w: refresh TTL %v outside [access TTL, 400 days]", ErrInvalidConfig, cfg.refreshTTL)
	case cfg.leeway < 0 || cfg.leeway > maxLeeway:
		return nil, fmt.Errorf("%w: leeway %v outside [0, %v]", ErrInvalidConfig, cfg.leeway, maxLeeway)
	case cfg.maxTokenSize < 256 || cfg.maxTokenSize > 65536:
		return nil, fmt.Errorf("%w: max token size %d outside [256, 65536]", ErrInvalidConfig, cfg.maxTokenSize)
	case cfg.cacheSize < 0 || cfg.cacheSize > maxVerifiedCache:
		return nil, fmt.Errorf("%w: verified cache size %d outside [0, %d]", ErrInvalidConfig, cfg.cacheSize, maxVerifiedCache)
	case cfg.denylistFailOpen && cfg.denylist == nil:
		return nil, fmt.Errorf("%w: WithDenylistFailOpen without WithDenylist", ErrInvalidConfig)
	}
	for _, a := range cfg.audience {
		if a == "" {
			return nil, fmt.Errorf("%w: empty audience", ErrInvalidConfig)
		}
	}
	if err := checkCookies(&cfg); err != nil {
		return nil, err
	}
	a := &Auth[C, P]{cfg: cfg, cop: http.NewCrossOriginProtection(), body: newBodyDecoder()}
	for _, o := range cfg.origins {
		if err := a.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: trusted origin: %w", ErrInvalidConfig, err)
		}
	}
	if err := a.SetKeyRing(ring); err != nil {
		return nil, err
	}
	return a, nil
}

// checkGiven refuses nil dependencies, typed nils included (a nil
// *SomeStore in a RefreshStore is not nil to ==, and would panic on the
// first request), and options that another option makes meaningless.
func checkGiven(c *config) error {
	for _, d := range []struct {
		option string
		value  any
	}{
		{"WithRefreshStore", c.refresh},
		{"WithDenylist", c.denylist},
		{"WithErrorHandler", c.errorHandler},
		{"WithClock", c.now},
	} {
		if c.has(d.option) && typednil.Is(d.value) {
			return fmt.Errorf("%w: %s: nil argument (%T)", ErrInvalidConfig, d.option, d.value)
		}
	}
	if c.noCookies {
		for _, o := range []string{"WithCookies", "WithRefreshCookiePath", "WithTrustedOrigins"} {
			if c.has(o) {
				return fmt.Errorf("%w: %s does not apply with WithoutCookies", ErrInvalidConfig, o)
			}
		}
	}
	if c.has("WithRefreshTTL") && c.refresh == nil {
		return fmt.Errorf("%w: WithRefreshTTL without WithRefreshStore: no refresh tokens are issued", ErrInvalidConfig)
	}
	return nil
}

func checkCookies(c *config) error {
	if c.noCookies {
		return nil
	}
	names := map[string]string{}
	for _, n := range []string{c.accessCookie, c.refreshCookie, c.csrfCookie} {
		if n == "" || strings.ContainsAny(n, " \t\r\n;,=\"") {
			return fmt.Errorf("%w: invalid cookie name %q", ErrInvalidConfig, n)
		}
		if names[n] != "" {
			return fmt.Errorf("%w: cookie name %q used twice", ErrInvalidConfig, n)
		}
		names[n] = n
	}
	if !strings.HasPrefix(c.refreshPath, "/") {
		return fmt.Errorf("%w: refresh cookie path %q must start with /", ErrInvalidConfig, c.refreshPath)
	}
	if strings.HasPrefix(c.refreshCookie, "__Host-") && c.refreshPath != "/" {
		return fmt.Errorf("%w: cookie %q: the __Host- prefix requires Path=/", ErrInvalidConfig, c.refreshCookie)
	}
	return nil
}

// SetKeyRing replaces the key ring; tokens signed with keys no longer in the
// ring stop verifying at once, and the cache of verified tokens starts
// empty. Safe to call while requests are served.
func (a *Auth[C, P]) SetKeyRing(ring *KeyRing) error {
	if ring == nil {
		return fmt.Errorf("%w: nil key ring", ErrInvalidConfig)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(ring.methods),
		jwt.WithLeeway(a.cfg.leeway),
		jwt.WithTimeFunc(a.cfg.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		// One spelling per token: non-canonical base64 would give a stolen
		// token a second form.
		jwt.WithStrictDecoding(),
	}
	if a.cfg.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.cfg.issuer))
	}
	if len(a.cfg.audience) > 0 {
		opts = append(opts, jwt.WithAudience(a.cfg.audience...))
	}
	a.state.Store(&ringState[C]{ring: ring, parser: jwt.NewParser(opts...), cache: newVerifiedCache[C](a.cfg.cacheSize)})
	return nil
}

// Verify checks an access token and returns its claims. Every refusal wraps
// [ErrTokenInvalid] (with the reason also wrapped, for logs and tests); with
// a [Denylist] configured, a store failure is returned unwrapped by
// ErrTokenInvalid so callers can answer 503 rather than 401.
//
// The returned claims are the caller's own copy; slices in them (Audience,
// Roles) may be shared with other requests presenting the same token and
// must not be modified.
func (a *Auth[C, P]) Verify(ctx context.Context, token string) (P, error) {
	p := P(new(C))
	if err := a.verifyInto(ctx, token, p); err != nil {
		return nil, err
	}
	return p, nil
}

// verifyInto is [Auth.Verify] writing the claims into dst, so that the
// middleware can place them in the same allocation as its context.
func (a *Auth[C, P]) verifyInto(ctx context.Context, token string, dst P) error {
	if token == "" {
		return ErrNoToken
	}
	if len(token) > a.cfg.maxTokenSize {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, ErrTokenTooLarge)
	}
	st := a.state.Load()
	if st.cache == nil {
		if err := a.parse(st, token, dst); err != nil {
			return err
		}
		return a.checkRevoked(ctx, dst)
	}
	d := tokenDigest(token)
	if e := st.cache.get(&d); e != nil {
		if hit(e, a.cfg.now(), dst) {
			return a.checkRevoked(ctx, dst)
		}
		// Out of its time window: drop it and let the parser give the
		// precise reason.
		st.cache.drop(&d, e)
		var zero C
		*dst = zero
	}
	if err := a.parse(st, token, dst); err != nil {
		return err
	}
	st.cache.put(&d, newCacheEntry[C, P](dst, a.cfg.leeway))
	return a.checkRevoked(ctx, dst)
}

// parse fully verifies token: signature, header, time and issuer checks,
// type and required claims.
func (a *Auth[C, P]) parse(st *ringState[C], token string, p P) error {
	if _, err := st.parser.ParseWithClaims(token, p, st.ring.keyfunc); err != nil {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	c := p.base()
	switch {
	case c.Type != typeAccess:
		return fmt.Errorf("%w: %w", ErrTokenInvalid, ErrWrongTokenType)
	case c.Subject == "" || c.ID == "" || c.IssuedAt == 0:
		return fmt.Errorf("%w: %w", ErrTokenInvalid, ErrMissingClaim)
	}
	return nil
}

// checkRevoked consults the denylist, when there is one, on every request,
// cached token or not.
func (a *Auth[C, P]) checkRevoked(ctx context.Context, p P) error {
	if a.cfg.denylist == nil {
		return nil
	}
	c := p.base()
	revoked, err := a.cfg.denylist.Revoked(ctx, c.ID, c.Subject, time.Unix(c.IssuedAt, 0))
	if err != nil {
		if a.cfg.denylistFailOpen && ctx.Err() == nil {
			return nil
		}
		return fmt.Errorf("jwtauth: denylist: %w", err)
	}
	if revoked {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, ErrRevoked)
	}
	return nil
}

// sign returns a signed access token for claims and the CSRF token bound to
// it ([Auth.Issue]).
func (a *Auth[C, P]) sign(claims C) (token, csrf string, err error) {
	p := P(&claims)
	c := p.base()
	if c.Subject == "" {
		return "", "", errors.New("jwtauth: claims have no subject")
	}
	st := a.state.Load()
	k := st.ring.current
	if !k.canSign() {
		return "", "", errors.New("jwtauth: key ring has no signing key")
	}
	now := a.cfg.now().Truncate(time.Second)
	csrf = randomToken(32)
	c.Issuer = a.cfg.issuer
	c.Audience = a.cfg.audience
	c.IssuedAt = now.Unix()
	c.NotBefore = 0
	c.ExpiresAt = now.Add(a.cfg.accessTTL).Unix()
	c.ID = randomToken(16)
	c.Type = typeAccess
	c.CSRF = csrfBinding(csrf)
	t := jwt.NewWithClaims(k.method, p)
	t.Header["kid"] = k.id
	token, err = t.SignedString(k.sign)
	if err != nil {
		return "", "", fmt.Errorf("jwtauth: sign: %w", err)
	}
	return token, csrf, nil
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}
