package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
)

// RedisStore defaults, each changed by the option named in its comment.
const (
	// defaultRedisTimeout bounds each call ([WithTimeout]).
	defaultRedisTimeout = 250 * time.Millisecond
	// defaultKeyPrefix starts every key ([WithKeyPrefix]).
	defaultKeyPrefix = "jwtauth:"
)

// ErrStoreUnavailable is matched (errors.Is) by a [RedisStore]'s errors when
// Redis failed, did not answer within the timeout or its circuit breaker is
// open. The middleware and callers of [Auth.Refresh] answer it with 503 and
// Retry-After: the request may succeed later, so it is never a 401 or a 500.
var ErrStoreUnavailable = errors.New("jwtauth: store unavailable")

var errBreakerOpen = errors.New("circuit breaker open")

// RedisOption configures a [RedisStore]; the options of [New] are a
// different type, so one given to the wrong constructor does not compile.
type RedisOption func(*redisConfig)

type redisConfig struct {
	prefix    string
	timeout   time.Duration
	threshold int
	cooldown  time.Duration
	logger    *slog.Logger
}

// WithKeyPrefix sets the prefix of every key (default "jwtauth:"), so
// services sharing a Redis keep apart. It must not contain braces, which
// Redis Cluster reads as a hash tag.
func WithKeyPrefix(p string) RedisOption { return func(c *redisConfig) { c.prefix = p } }

// WithTimeout bounds each Redis call (default 250 ms). It must be positive.
func WithTimeout(d time.Duration) RedisOption { return func(c *redisConfig) { c.timeout = d } }

// WithBreaker sets the circuit breaker: after threshold consecutive
// failures Redis is not called for cooldown, then one call probes it
// (defaults 5 and 2 s, the same behaviour as every covet Redis client).
func WithBreaker(threshold int, cooldown time.Duration) RedisOption {
	return func(c *redisConfig) { c.threshold, c.cooldown = threshold, cooldown }
}

// WithLogger sets where breaker transitions are logged, once each
// (default slog.Default(), read when the store is built).
func WithLogger(l *slog.Logger) RedisOption { return func(c *redisConfig) { c.logger = l } }

var (
	_ RefreshStore = (*RedisStore)(nil)
	_ Denylist     = (*RedisStore)(nil)
)

// RedisStore is a [RefreshStore] and [Denylist] in Redis, shared by every
// instance of a service. Each record expires with the token it describes
// (PXAT), so nothing needs sweeping. A family's keys share a hash tag, so a
// rotation is one atomic script on one node, also on Redis Cluster. Needs
// Redis 6.2 or later. Safe for concurrent use.
//
// Every call has its own deadline ([WithTimeout]) and passes through a
// circuit breaker, so an outage costs one timeout per cooldown rather than
// one per request. Failures return errors matching [ErrStoreUnavailable]:
// refresh fails closed (503), and the denylist fails closed too unless the
// [Auth] was built with [WithDenylistFailOpen].
type RedisStore struct {
	c     redis.UniversalClient
	cfg   redisConfig
	brk   *breaker.Breaker
	aware bool // the client stops at context deadlines by itself
}

// NewRedisStore returns a store over client. It does not contact Redis.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) (*RedisStore, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidConfig)
	}
	c := redisConfig{prefix: defaultKeyPrefix, timeout: defaultRedisTimeout, threshold: breaker.DefaultThreshold, cooldown: breaker.DefaultCooldown}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case strings.ContainsAny(c.prefix, "{}"):
		return nil, fmt.Errorf("%w: redis key prefix %q must not contain braces", ErrInvalidConfig, c.prefix)
	case c.timeout <= 0:
		return nil, fmt.Errorf("%w: redis timeout %v must be positive", ErrInvalidConfig, c.timeout)
	case c.threshold < 1:
		return nil, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return nil, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	s := &RedisStore{c: client, cfg: c, aware: redisdeadline.HonoursContext(client)}
	s.brk = breaker.New(c.threshold, c.cooldown, nil, func(open bool, err error) {
		if open {
			c.logger.Error("jwtauth: redis unavailable, circuit breaker open", "err", err, "cooldown", c.cooldown)
			return
		}
		c.logger.Info("jwtauth: redis available again, circuit breaker closed")
	})
	return s, nil
}

// call runs fn under the per-call deadline and the breaker. A caller that
// gave up (ctx done) is not counted against Redis.
func (s *RedisStore) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if !s.brk.Allow() {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, errBreakerOpen)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	err := redisdeadline.Do(cctx, s.aware, fn)
	cancel()
	if err == nil || errors.Is(err, redis.Nil) {
		s.brk.Success()
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("jwtauth: redis: %w", ctx.Err())
	}
	s.brk.Failure(err)
	return fmt.Errorf("%w: redis: %w", ErrStoreUnavailable, err)
}

func (s *RedisStore) familyKey(family string) string { return s.cfg.prefix + "rf:{" + family + "}" }
func (s *RedisStore) tokenKey(family, hash string) string {
	return s.cfg.prefix + "rt:{" + family + "}:" + hash
}
func (s *RedisStore) jtiKey(jti string) string         { return s.cfg.prefix + "jti:" + jti }
func (s *RedisStore) subjectKey(subject string) string { return s.cfg.prefix + "nbf:" + subject }

// A token record is "a|<issued ms>|<expires ms>" while active and starts with
// "u" once used; the family record holds the subject.
func tokenValue(state string, t RefreshToken) string {
	return state + "|" + strconv.FormatInt(t.IssuedAt.UnixMilli(), 10) + "|" + strconv.FormatInt(t.ExpiresAt.UnixMilli(), 10)
}

// CreateRefresh implements [RefreshStore].
func (s *RedisStore) CreateRefresh(ctx context.Context, t RefreshToken) error {
	exp := t.ExpiresAt
	return s.call(ctx, func(ctx context.Context) error {
		_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, s.familyKey(t.Family), t.Subject, redis.SetArgs{ExpireAt: exp})
			p.SetArgs(ctx, s.tokenKey(t.Family, t.Hash), tokenValue("a", t), redis.SetArgs{ExpireAt: exp})
			return nil
		})
		return err
	})
}

// rotateScript: KEYS family, old token, new token; ARGV new record, new
// expiry (unix ms). Returns {status, subject, old record}: status 1 rotated,
// 0 invalid, -1 reused (family deleted).
var rotateScript = redis.NewScript(`
local subject = redis.call('GET', KEYS[1])
if not subject then return {0} end
local old = redis.call('GET', KEYS[2])
if not old then return {0} end
if string.sub(old, 1, 1) ~= 'a' then
  redis.call('DEL', KEYS[1])
  return {-1}
end
redis.call('SET', KEYS[2], 'u' .. string.sub(old, 2), 'KEEPTTL')
redis.call('SET', KEYS[3], ARGV[1], 'PXAT', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {1, subject, old}
`)

// RotateRefresh implements [RefreshStore].
func (s *RedisStore) RotateRefresh(ctx context.Context, oldHash string, next RefreshToken) (RefreshToken, error) {
	keys := []string{s.familyKey(next.Family), s.tokenKey(next.Family, oldHash), s.tokenKey(next.Family, next.Hash)}
	var res []any
	err := s.call(ctx, func(ctx context.Context) (err error) {
		res, err = rotateScript.Run(ctx, s.c, keys, tokenValue("a", next), next.ExpiresAt.UnixMilli()).Slice()
		return err
	})
	if err != nil {
		return RefreshToken{}, err
	}
	status, _ := res[0].(int64)
	switch {
	case status == -1:
		return RefreshToken{}, ErrRefreshReused
	case status != 1 || len(res) != 3:
		return RefreshToken{}, ErrRefreshInvalid
	}
	subject, _ := res[1].(string)
	rec, _ := res[2].(string)
	old := RefreshToken{Family: next.Family, Hash: oldHash, Subject: subject}
	parts := strings.Split(rec, "|")
	if len(parts) != 3 {
		return RefreshToken{}, fmt.Errorf("jwtauth: redis: corrupt refresh record")
	}
	iat, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return RefreshToken{}, fmt.Errorf("jwtauth: redis: corrupt refresh record")
	}
	old.IssuedAt, old.ExpiresAt = time.UnixMilli(iat), time.UnixMilli(exp)
	return old, nil
}

// RevokeFamily implements [RefreshStore].
func (s *RedisStore) RevokeFamily(ctx context.Context, family string) error {
	return s.call(ctx, func(ctx context.Context) error { return s.c.Del(ctx, s.familyKey(family)).Err() })
}

// DenyToken implements [Denylist].
func (s *RedisStore) DenyToken(ctx context.Context, jti string, until time.Time) error {
	return s.call(ctx, func(ctx context.Context) error {
		return s.c.SetArgs(ctx, s.jtiKey(jti), "1", redis.SetArgs{ExpireAt: until}).Err()
	})
}

// denySubjectScript keeps the later of the stored and the new "not before".
var denySubjectScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local nbf = tonumber(ARGV[1])
if cur > nbf then nbf = cur end
redis.call('SET', KEYS[1], nbf, 'PXAT', ARGV[2])
return nbf
`)

// DenySubject implements [Denylist].
func (s *RedisStore) DenySubject(ctx context.Context, subject string, notBefore, until time.Time) error {
	return s.call(ctx, func(ctx context.Context) error {
		return denySubjectScript.Run(ctx, s.c, []string{s.subjectKey(subject)}, notBefore.UnixMilli(), until.UnixMilli()).Err()
	})
}

// Revoked implements [Denylist]. It costs one round trip (a pipeline of at
// most two reads).
func (s *RedisStore) Revoked(ctx context.Context, jti, subject string, issuedAt time.Time) (bool, error) {
	var jtiCmd *redis.IntCmd
	var subCmd *redis.StringCmd
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			if jti != "" {
				jtiCmd = p.Exists(ctx, s.jtiKey(jti))
			}
			subCmd = p.Get(ctx, s.subjectKey(subject))
			return nil
		})
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	if jtiCmd != nil && jtiCmd.Val() > 0 {
		return true, nil
	}
	if nbf, err := subCmd.Int64(); err == nil && issuedAt.UnixMilli() < nbf {
		return true, nil
	}
	return false, nil
}
