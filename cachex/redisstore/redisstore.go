package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
	"github.com/covetgo/covet/internal/typednil"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every error of New.
	ErrInvalidConfig = errors.New("redisstore: invalid configuration")
	// ErrUnavailable wraps every failed or timed-out call, and every call
	// refused while the circuit breaker is open.
	ErrUnavailable = errors.New("redisstore: redis unavailable")
)

// errOpen is returned without calling Redis while the breaker is open.
var errOpen = fmt.Errorf("%w: circuit breaker open", ErrUnavailable)

// Store is a Redis tier for a cachex.Cache. It does not close the client.
//
// Store is safe for concurrent use. One Store serves one cache.
type Store struct {
	c       redis.UniversalClient
	cfg     config
	channel string
	aware   bool                 // the client stops at context deadlines by itself
	bound   *redisdeadline.Bound // per-call deadline when aware
	brk     *breaker.Breaker
}

// New returns a tier over client. It does not contact Redis.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if typednil.Is(client) {
		return nil, fmt.Errorf("%w: New: client is nil", ErrInvalidConfig)
	}
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	t := &Store{
		c:       client,
		cfg:     c,
		channel: c.prefix + "\x00cachex-invalidate",
		aware:   redisdeadline.HonoursContext(client),
		bound:   redisdeadline.NewBound(c.timeout),
	}
	t.brk = breaker.New(c.threshold, c.cooldown, c.now, func(open bool, err error) {
		if open {
			c.logger.Error("redisstore: redis unavailable, circuit breaker open", "prefix", c.prefix, "err", err, "cooldown", c.cooldown)
			return
		}
		c.logger.Info("redisstore: redis available again, circuit breaker closed", "prefix", c.prefix)
	})
	return t, nil
}

// now is the breaker's clock; tests replace it through the config.
func defaultNow() time.Time { return time.Now() }
