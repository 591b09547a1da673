package cachex

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Option configures a Cache. Options are applied over the defaults in order;
// New checks the result and reports any mistake.
type Option func(*config)

type config struct {
	rdb          redis.UniversalClient
	prefix       string
	local        bool
	localBytes   int64
	localTTL     time.Duration
	comp         Compression
	threshold    int
	swr          time.Duration
	sie          time.Duration
	negTTL       time.Duration
	jitter       float64
	redisTimeout time.Duration
	loadTimeout  time.Duration
	invalidate   bool
	logger       *slog.Logger
	now          func() time.Time
	rand         func() float64
	errs         []error
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

// WithRedis adds a Redis tier (a *redis.Client, *redis.ClusterClient or
// *redis.Ring). Without it the cache is in-process only. The cache does not
// close the client.
func WithRedis(rdb redis.UniversalClient) Option {
	return func(c *config) {
		if rdb == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithRedis: nil client", ErrInvalidConfig))
		}
		c.rdb = rdb
	}
}

// WithKeyPrefix puts every Redis key of the cache under prefix (default none,
// so keys are used as given). Tag versions and the invalidation channel are
// kept under the same prefix.
func WithKeyPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithLocal bounds the in-process tier to maxBytes of encoded values (default
// 32 MiB) and, when a Redis tier is present, caps how long a value lives in
// process to ttl (default one minute; it never outlives the value's Redis TTL).
// The cap bounds how stale a replica can be if an invalidation message is lost.
func WithLocal(maxBytes int64, ttl time.Duration) Option {
	return func(c *config) {
		if maxBytes <= 0 || ttl <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLocal(%d, %v): size and ttl must be positive", ErrInvalidConfig, maxBytes, ttl))
		}
		c.local, c.localBytes, c.localTTL = true, maxBytes, ttl
	}
}

// WithoutLocal turns the in-process tier off; it needs WithRedis.
func WithoutLocal() Option {
	return func(c *config) { c.local = false }
}

// WithCompression compresses encoded values of at least threshold bytes
// (default S2 above 1 KiB). A value stays compressed only when that makes it
// smaller. Every instance sharing a Redis should read zstd if any writes it.
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
// background (GetOrLoad only). Default off.
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

// WithTimeouts bounds each Redis call by redisCall and each load by load
// (default 30s; a load outlives the callers that wait for it, up to this).
//
// By default Redis calls are bounded by the client's own read and write
// timeouts (go-redis sets a few seconds unless told otherwise), which costs
// nothing per call; a
// redisCall bound gives each call a context deadline instead, at the cost
// of a few allocations. New refuses a client without read or write timeouts
// unless redisCall is set.
func WithTimeouts(redisCall, load time.Duration) Option {
	return func(c *config) {
		if redisCall <= 0 || load <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTimeouts(%v, %v): must be positive", ErrInvalidConfig, redisCall, load))
		}
		c.redisTimeout, c.loadTimeout = redisCall, load
	}
}

// WithoutInvalidation stops publishing and subscribing to invalidation
// messages; other replicas' in-process copies then live out their local TTL.
func WithoutInvalidation() Option {
	return func(c *config) { c.invalidate = false }
}

// WithLogger receives Redis and load failures that the cache absorbs
// (default slog.Default(), read at construction; the stats count them
// either way).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

func (c *config) validate() error {
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	if !c.local && c.rdb == nil {
		return fmt.Errorf("%w: WithoutLocal needs WithRedis: the cache would have no tier", ErrInvalidConfig)
	}
	if c.rdb != nil && c.redisTimeout == 0 && !clientBounded(c.rdb) {
		return fmt.Errorf("%w: the Redis client has no read or write timeout, so a stalled Redis would stall requests: set them on the client, or use WithTimeouts", ErrInvalidConfig)
	}
	return nil
}

// clientBounded reports whether rdb puts deadlines on its own reads and
// writes. It reads the client's initialised options, where go-redis has
// turned "unset" into its default and "none" into 0 or -1.
func clientBounded(rdb redis.UniversalClient) bool {
	var r, w time.Duration
	switch c := rdb.(type) {
	case *redis.Client:
		r, w = c.Options().ReadTimeout, c.Options().WriteTimeout
	case *redis.ClusterClient:
		r, w = c.Options().ReadTimeout, c.Options().WriteTimeout
	case *redis.Ring:
		r, w = c.Options().ReadTimeout, c.Options().WriteTimeout
	default:
		return false
	}
	return r > 0 && w > 0
}
