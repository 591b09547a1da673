package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/internal/typednil"
)

// ErrEmptyKey is passed to the error handler when a request has no key and
// the limiter rejects such requests ([RejectEmptyKey]).
var ErrEmptyKey = errors.New("ratelimit: request has no rate-limit key")

// EmptyKeyPolicy says what the middleware does with a request whose key is
// empty.
type EmptyKeyPolicy uint8

const (
	// RejectEmptyKey answers such requests through the error handler with
	// [ErrEmptyKey] (by default 400 Bad Request). It is the default, so that
	// a request cannot escape a limit by lacking what it is keyed on.
	RejectEmptyKey EmptyKeyPolicy = iota
	// SkipEmptyKey lets such requests through unlimited, e.g. for a per-user
	// limit on a route that anonymous users may also call.
	SkipEmptyKey
)

// defaultName is the policy name used in the RateLimit fields.
const defaultName = "default"

// Option configures a [Limiter].
type Option func(*config)

type config struct {
	alg      Algorithm
	name     string
	keyFn    KeyFunc // nil: the client IP, on a fast path
	nilArg   string  // the first option given a nil function, by name
	costFn   func(*http.Request) int64
	emptyKey EmptyKeyPolicy
	legacy   bool
	noFields bool
	denied   func(http.ResponseWriter, *http.Request, Decision)
	errorH   func(http.ResponseWriter, *http.Request, error)
}

// WithAlgorithm sets the algorithm (default [GCRA]).
func WithAlgorithm(a Algorithm) Option { return func(c *config) { c.alg = a } }

// WithName names the policy (default "default"). The name appears in the
// RateLimit fields and separates this limiter's keys from other limiters'
// in a shared store: two limiters with the same name and store share one
// limit. It must be 1 to 64 characters from [A-Za-z0-9._-].
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithKeyFunc sets how requests are keyed (default [KeyByIP]).
func WithKeyFunc(f KeyFunc) Option {
	return func(c *config) { c.keyFn = f; c.nilFunc("WithKeyFunc", f == nil) }
}

// nilFunc records the first option given a nil function.
func (c *config) nilFunc(option string, isNil bool) {
	if isNil && c.nilArg == "" {
		c.nilArg = option
	}
}

// WithCost sets the cost of each request (default 1). A negative cost is
// answered through the error handler with [ErrInvalidCost].
func WithCost(f func(*http.Request) int64) Option {
	return func(c *config) { c.costFn = f; c.nilFunc("WithCost", f == nil) }
}

// WithEmptyKey sets what happens to requests without a key (default
// [RejectEmptyKey]).
func WithEmptyKey(p EmptyKeyPolicy) Option { return func(c *config) { c.emptyKey = p } }

// WithLegacyHeaders also sends X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (Unix time in seconds), for clients that predate the
// RateLimit fields.
func WithLegacyHeaders() Option { return func(c *config) { c.legacy = true } }

// WithoutFields stops the RateLimit-Policy and RateLimit fields from being
// sent; Retry-After is still sent on denials.
func WithoutFields() Option { return func(c *config) { c.noFields = true } }

// WithDeniedHandler replaces the default 429 response. The handler receives
// the decision; the RateLimit fields and Retry-After are already set.
func WithDeniedHandler(f func(w http.ResponseWriter, r *http.Request, d Decision)) Option {
	return func(c *config) { c.denied = f; c.nilFunc("WithDeniedHandler", f == nil) }
}

// WithErrorHandler replaces the default error response. err wraps
// [ErrEmptyKey], [ErrInvalidCost] or a store error. The default answers
// ErrEmptyKey and ErrInvalidCost with 400 and anything else with 500, each
// with an application/problem+json body that reveals no internals.
func WithErrorHandler(f func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.errorH = f; c.nilFunc("WithErrorHandler", f == nil) }
}

// Limiter enforces one [Rate] over a [Store]. Use [Limiter.Handler] as HTTP
// middleware or [Limiter.Allow] from code. A Limiter is safe for concurrent
// use.
type Limiter struct {
	store  Store
	mem    *MemoryStore // store, when it is one: keys are then looked up without allocating
	rate   Rate
	cfg    config
	prefix string // name + ":" prefixed to every key
	policy string // precomputed RateLimit-Policy value
	now    func() time.Time
}

// New returns a limiter enforcing rate over store. A nil store (or a nil
// pointer in the interface), an invalid rate or an invalid option is
// reported here, never during a request; every such error wraps
// [ErrInvalidConfig].
func New(store Store, rate Rate, opts ...Option) (*Limiter, error) {
	if typednil.Is(store) {
		return nil, fmt.Errorf("%w: store is nil", ErrInvalidConfig)
	}
	if err := rate.Validate(); err != nil {
		return nil, err
	}
	c := config{alg: GCRA, name: defaultName}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		o(&c)
	}
	if c.nilArg != "" {
		return nil, fmt.Errorf("%w: %s: function is nil", ErrInvalidConfig, c.nilArg)
	}
	if !c.alg.valid() {
		return nil, fmt.Errorf("%w: unknown algorithm %v", ErrInvalidConfig, c.alg)
	}
	if !validName(c.name) {
		return nil, fmt.Errorf("%w: name %q must be 1 to 64 characters from [A-Za-z0-9._-]", ErrInvalidConfig, c.name)
	}
	if c.emptyKey > SkipEmptyKey {
		return nil, fmt.Errorf("%w: unknown empty-key policy %d", ErrInvalidConfig, c.emptyKey)
	}
	if c.denied == nil {
		c.denied = defaultDenied
	}
	if c.errorH == nil {
		c.errorH = defaultError
	}
	l := &Limiter{store: store, rate: rate, cfg: c, prefix: c.name + ":", now: time.Now}
	l.mem, _ = store.(*MemoryStore)
	l.policy = `"` + c.name + `";q=` + strconv.FormatInt(rate.Limit, 10) + ";w=" + strconv.FormatInt(ceilSeconds(rate.Period), 10)
	return l, nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Allow spends a cost of 1 on key.
func (l *Limiter) Allow(ctx context.Context, key string) (Decision, error) {
	return l.store.Take(ctx, l.prefix+key, l.rate, l.cfg.alg, 1)
}

// AllowN spends cost on key; a cost of 0 reports the state without spending.
func (l *Limiter) AllowN(ctx context.Context, key string, cost int64) (Decision, error) {
	return l.store.Take(ctx, l.prefix+key, l.rate, l.cfg.alg, cost)
}

// Handler returns middleware that limits requests to next. Every limited
// response carries the RateLimit-Policy and RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers-10); a denied request gets 429 Too
// Many Requests with Retry-After, from the denied handler.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cost := int64(1)
		if l.cfg.costFn != nil {
			cost = l.cfg.costFn(r)
		}
		var d Decision
		var err error
		if l.cfg.keyFn == nil {
			// The client IP appended to the prefix in a stack buffer.
			var buf [96]byte
			b := appendAddr(append(buf[:0], l.prefix...), clientip.Addr(r))
			switch {
			case len(b) == len(l.prefix):
				l.emptyKey(w, r, next)
				return
			case l.mem != nil && cost >= 0: // rate and algorithm were validated by New
				d = l.mem.takeBytes(b, l.rate, l.cfg.alg, cost)
			default:
				d, err = l.store.Take(r.Context(), string(b), l.rate, l.cfg.alg, cost)
			}
		} else {
			k := l.cfg.keyFn(r)
			if k == "" {
				l.emptyKey(w, r, next)
				return
			}
			d, err = l.store.Take(r.Context(), l.prefix+k, l.rate, l.cfg.alg, cost)
		}
		if err != nil {
			l.cfg.errorH(w, r, err)
			return
		}
		l.writeFields(w.Header(), d)
		if !d.Allowed {
			l.cfg.denied(w, r, d)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (l *Limiter) emptyKey(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if l.cfg.emptyKey == SkipEmptyKey {
		next.ServeHTTP(w, r)
		return
	}
	l.cfg.errorH(w, r, ErrEmptyKey)
}

// writeFields adds this limiter's RateLimit fields, legacy headers and, on
// denial, Retry-After. Header names are written in canonical form directly.
//
// When limiters are stacked (a global one in front of a route's), each adds
// its own item to the RateLimit-Policy and RateLimit lists, so the response
// describes every policy that applied; the legacy headers, which cannot
// hold a list, describe the most restrictive (least remaining).
func (l *Limiter) writeFields(h http.Header, d Decision) {
	reset := ceilSeconds(d.ResetAfter)
	// Remaining never exceeds the advertised quota, even when a burst above
	// the limit lets more through for now.
	rem := min(max(d.Remaining, 0), l.rate.Limit)
	if !l.cfg.noFields {
		// One allocation for both fields' slices and one for the RateLimit
		// value, built on the stack; capped slices so that an append by a
		// later handler copies instead of overwriting.
		var buf [48]byte // `"name";r=<remaining>;t=<seconds>` with a short name
		b := append(buf[:0], '"')
		b = append(b, l.cfg.name...)
		b = append(b, `";r=`...)
		b = strconv.AppendInt(b, rem, 10)
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, reset, 10)
		pol, cur := h["Ratelimit-Policy"], h["Ratelimit"]
		if len(pol) == 0 && len(cur) == 0 {
			f := new(fieldValues)
			f.v[0], f.v[1] = l.policy, string(b)
			h["Ratelimit-Policy"] = f.v[0:1:1]
			h["Ratelimit"] = f.v[1:2:2]
		} else {
			// An outer limiter already answered: add ours to its lists.
			h["Ratelimit-Policy"] = append(pol[:len(pol):len(pol)], l.policy)
			h["Ratelimit"] = append(cur[:len(cur):len(cur)], string(b))
		}
	}
	if l.cfg.legacy && l.mostRestrictive(h, rem) {
		v := make([]string, 3)
		v[0] = strconv.FormatInt(l.rate.Limit, 10)
		v[1] = strconv.FormatInt(rem, 10)
		v[2] = strconv.FormatInt(l.now().Add(d.ResetAfter).Add(time.Second-1).Unix(), 10)
		h["X-Ratelimit-Limit"] = v[0:1:1]
		h["X-Ratelimit-Remaining"] = v[1:2:2]
		h["X-Ratelimit-Reset"] = v[2:3:3]
	}
	if !d.Allowed {
		h["Retry-After"] = []string{strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10)}
	}
}

// mostRestrictive reports whether rem is no more than the remaining count
// an outer limiter put in the legacy headers, or there is none.
func (l *Limiter) mostRestrictive(h http.Header, rem int64) bool {
	v := h["X-Ratelimit-Remaining"]
	if len(v) == 0 {
		return true
	}
	prev, err := strconv.ParseInt(v[0], 10, 64)
	return err != nil || rem <= prev
}

// fieldValues holds the RateLimit-Policy and RateLimit header values of one
// response.
type fieldValues struct {
	v [2]string
}

// ceilSeconds rounds d up to whole seconds, so a client waiting that long is
// never early.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}
