package cachex

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/covetgo/covet/internal/typednil"
)

// Option configures a Cache. Options are applied over the defaults in order;
// New checks the result and refuses mistakes, including options that do not
// apply to the configuration (say, WithLocalTTL without a shared tier).
type Option func(*config)

type config struct {
	shared      Shared
	local       bool
	localBytes  int64
	localTTL    time.Duration
	comp        Compression
	threshold   int
	swr         time.Duration
	sie         time.Duration
	negTTL      time.Duration
	jitter      float64
	loadTimeout time.Duration
	invalidate  bool
	logger      *slog.Logger
	now         func() time.Time
	rand        func() float64
	errs        []error

	// what was set, to refuse options that do not apply
	setLocal, setLocalTTL, setNoLocal, setNoInvalidate bool
}

func defaultConfig() config {
	return config{
		local:       true,
		localBytes:  32 << 20,
		localTTL:    time.Minute,
		comp:        CompressionS2,
		threshold:   1024,
		negTTL:      5 * time.Second,
		jitter:      0.1,
		loadTimeout: 30 * time.Second,
		invalidate:  true,
		now:         time.Now,
		rand:        rand.Float64,
	}
}

// WithShared adds a tier shared by every replica, usually a
// *redisstore.Store. Without it the cache is in-process only. The cache
// does not close the tier or its client.
func WithShared(s Shared) Option {
	return func(c *config) {
		if typednil.Is(s) {
			c.errs = append(c.errs, fmt.Errorf("%w: WithShared: tier is nil", ErrInvalidConfig))
		}
		c.shared = s
	}
}

// WithLocal bounds the in-process tier to maxBytes of encoded values
// (default 32 MiB).
func WithLocal(maxBytes int64) Option {
	return func(c *config) {
		if maxBytes <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLocal(%d): size must be positive", ErrInvalidConfig, maxBytes))
		}
		c.localBytes, c.setLocal = maxBytes, true
	}
}

// WithLocalTTL caps how long a value, and a tag version, lives in process
// when a shared tier holds it (default one minute; a value never outlives
// its own TTL). It needs WithShared.
//
// It is the backstop of the invalidation messages, not their substitute:
// while the cache is subscribed, a value changed on another replica is
// dropped from process when the message arrives; while it is not, reads go
// through to the shared tier. The cap bounds the staleness the
// subscription cannot see: a connection that dies without being noticed,
// copies served in process while the shared tier is down, and caches built
// WithoutInvalidation.
func WithLocalTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLocalTTL(%v): must be positive", ErrInvalidConfig, ttl))
		}
		c.localTTL, c.setLocalTTL = ttl, true
	}
}

// WithoutLocal turns the in-process tier off; it needs WithShared, and
// excludes WithLocal and WithLocalTTL. Such a cache does not subscribe to
// invalidation messages, so it reads tag versions from the shared tier on
// every use (unless WithoutInvalidation).
func WithoutLocal() Option {
	return func(c *config) { c.local, c.setNoLocal = false, true }
}

// WithCompression compresses encoded values of at least threshold bytes
// (default S2 above 1 KiB). A value stays compressed only when that makes it
// smaller. Every instance sharing a tier should read zstd if any writes it.
func WithCompression(comp Compression, threshold int) Option {
	return func(c *config) {
		if comp > CompressionZstd || threshold < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithCompression(%v, %d): unknown algorithm or negative threshold", ErrInvalidConfig, comp, threshold))
		}
		c.comp, c.threshold = comp, threshold
	}
}

// WithStaleWhileRevalidate keeps values window past their TTL; a read in
// that window gets the stale value at once and starts one refresh in the
// background (GetOrLoad and HTTPCache). Default off.
func WithStaleWhileRevalidate(window time.Duration) Option {
	return func(c *config) {
		if window < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithStaleWhileRevalidate(%v): negative window", ErrInvalidConfig, window))
		}
		c.swr = window
	}
}

// WithStaleIfError keeps values window past their TTL and serves them when
// the loader fails in that window. Default off.
func WithStaleIfError(window time.Duration) Option {
	return func(c *config) {
		if window < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithStaleIfError(%v): negative window", ErrInvalidConfig, window))
		}
		c.sie = window
	}
}

// WithNegativeTTL sets how long a loader's ErrNotFound is remembered
// (default 5s; 0 turns negative caching off).
func WithNegativeTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithNegativeTTL(%v): negative ttl", ErrInvalidConfig, ttl))
		}
		c.negTTL = ttl
	}
}

// WithJitter shortens each TTL by a random fraction up to f (default 0.1) so
// keys written together do not expire together. 0 turns it off.
func WithJitter(f float64) Option {
	return func(c *config) {
		if f < 0 || f >= 1 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithJitter(%v): want 0 <= f < 1", ErrInvalidConfig, f))
		}
		c.jitter = f
	}
}

// WithLoadTimeout bounds each load (default 30s). A load outlives the
// callers that wait for it, up to this. Calls to the shared tier are
// bounded by the tier (redisstore.WithTimeout).
func WithLoadTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLoadTimeout(%v): must be positive", ErrInvalidConfig, d))
		}
		c.loadTimeout = d
	}
}

// WithoutInvalidation stops publishing and subscribing to invalidation
// messages; other replicas' in-process copies, and the tag versions they
// keep, then live out their local TTL. It needs WithShared.
func WithoutInvalidation() Option {
	return func(c *config) { c.invalidate, c.setNoInvalidate = false, true }
}

// WithLogger receives load failures that the cache absorbs (default
// slog.Default(), read at construction; the stats count them either way).
// Failures of the shared tier are logged by the tier.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

func (c *config) validate() error {
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	var errs []error
	if c.shared == nil {
		for _, o := range []struct {
			set  bool
			name string
		}{{c.setNoLocal, "WithoutLocal"}, {c.setLocalTTL, "WithLocalTTL"}, {c.setNoInvalidate, "WithoutInvalidation"}} {
			if o.set {
				errs = append(errs, fmt.Errorf("%w: %s needs WithShared", ErrInvalidConfig, o.name))
			}
		}
	}
	if c.setNoLocal && (c.setLocal || c.setLocalTTL) {
		errs = append(errs, fmt.Errorf("%w: WithoutLocal excludes WithLocal and WithLocalTTL", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}
