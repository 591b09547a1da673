package redisstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/redisnotify"
)

// Mirror timings. The heartbeat proves the subscription alive; a mirror
// whose latest proof is older than mirrorMaxStale is not trusted, so a
// connection that dies without an error costs at most that long of
// revocations unseen.
const (
	mirrorHeartbeat = 200 * time.Millisecond
	mirrorMaxStale  = time.Second
	// syncTimeout bounds the read of the revocation index after each
	// (re)subscription when it is longer than the call timeout: the index
	// may hold many entries.
	syncTimeout = 2 * time.Second
)

// WithLocalMirror keeps a copy of the denylist in this process, so that
// Revoked answers without a Redis round trip. Every revocation is written to
// Redis and published on a channel under the key prefix; each store with a
// mirror applies what it receives, and reloads the whole list from Redis
// after every (re)subscription before it trusts its copy. Until then, and
// whenever the subscription is down or its heartbeat is late, Revoked asks
// Redis as without the option. The package overview states the window.
//
// The store then runs a goroutine: call [Store.Close] to stop it. Every
// store writing to the same prefix must be of a version that publishes
// (this one, mirror or not): a revocation made by an older one is not seen
// by mirrors until they next resubscribe.
func WithLocalMirror() Option { return func(c *config) { c.mirror = true } }

// mirror is the local copy of the denylist. Entries expire with the tokens
// they deny. Its writers are the subscription goroutine and the store's own
// revocations; its readers are every Revoked call.
type mirror struct {
	mu       sync.RWMutex
	jtis     map[string]int64 // jti → until, Unix ms
	subjects map[string]mirrorSubject
	writes   int
	sweepAt  int

	// base anchors fresh, which is the instant (ns since base, monotonic)
	// up to which the mirror is known to hold every revocation, or 0 while
	// it is not synced. Only the subscription goroutine writes it.
	base  time.Time
	fresh atomic.Int64

	// onState, set only by tests before the goroutine starts, hears each
	// sync (true) and loss (false).
	onState func(synced bool)
	// onApply, likewise, hears every entry applied from a message.
	onApply func(member string)
}

type mirrorSubject struct{ notBefore, until int64 } // Unix ms

func newMirror() *mirror {
	return &mirror{jtis: map[string]int64{}, subjects: map[string]mirrorSubject{}, base: time.Now()}
}

// revoked answers from the mirror; ok is false when it cannot be trusted
// now and Redis must be asked.
func (m *mirror) revoked(jti, subject string, issuedAt time.Time) (revoked, ok bool) {
	now := time.Now()
	f := m.fresh.Load()
	if f == 0 || now.Sub(m.base)-time.Duration(f) > mirrorMaxStale {
		return false, false
	}
	ms := now.UnixMilli()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if jti != "" {
		if until, ok := m.jtis[jti]; ok && ms < until {
			return true, true
		}
	}
	if s, ok := m.subjects[subject]; ok && ms < s.until && issuedAt.UnixMilli() < s.notBefore {
		return true, true
	}
	return false, true
}

// Index members: "j" + jti for a token, "s" + notBefore (Unix ms) + " " +
// subject for a subject's "not before"; the score is the entry's expiry.
// A message is the expiry, a space and the member.
func jtiMember(jti string) string { return "j" + jti }
func subjectMember(subject string, notBefore time.Time) string {
	return "s" + strconv.FormatInt(notBefore.UnixMilli(), 10) + " " + subject
}

// apply merges one index entry. Entries only ever add revocations and the
// merge keeps the later expiry and "not before", so the order in which
// messages and reloads arrive does not matter. A malformed entry is
// ignored: only this package writes the index.
func (m *mirror) apply(member string, until int64) {
	if len(member) < 2 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wrote()
	switch member[0] {
	case 'j':
		jti := member[1:]
		if cur, ok := m.jtis[jti]; !ok || until > cur {
			m.jtis[jti] = until
		}
	case 's':
		nbfText, subject, found := strings.Cut(member[1:], " ")
		nbf, err := strconv.ParseInt(nbfText, 10, 64)
		if !found || err != nil {
			return
		}
		cur := m.subjects[subject]
		m.subjects[subject] = mirrorSubject{notBefore: max(cur.notBefore, nbf), until: max(cur.until, until)}
	}
}

// deliver applies one published message.
func (m *mirror) deliver(payload string) {
	untilText, member, ok := strings.Cut(payload, " ")
	until, err := strconv.ParseInt(untilText, 10, 64)
	if !ok || err != nil {
		return
	}
	m.apply(member, until)
	if m.onApply != nil {
		m.onApply(member)
	}
}

// wrote sweeps expired entries once the writes since the last sweep reach
// the number of entries that sweep kept (amortised constant per write).
// Callers hold mu.
func (m *mirror) wrote() {
	m.writes++
	if m.writes < max(64, m.sweepAt) {
		return
	}
	m.writes = 0
	now := time.Now().UnixMilli()
	for k, until := range m.jtis {
		if now >= until {
			delete(m.jtis, k)
		}
	}
	for k, s := range m.subjects {
		if now >= s.until {
			delete(m.subjects, k)
		}
	}
	m.sweepAt = len(m.jtis) + len(m.subjects)
}

// size returns the number of entries held.
func (m *mirror) size() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.jtis) + len(m.subjects)
}

// setFresh records that the mirror holds every revocation made before t.
func (m *mirror) setFresh(t time.Time) {
	if d := int64(t.Sub(m.base)); d > m.fresh.Load() {
		m.fresh.Store(max(d, 1))
	}
}

func (s *Store) indexKey() string { return s.cfg.prefix + "denied" }
func (s *Store) channel() string  { return s.cfg.prefix + "denied" }

// indexScript records a revocation in the index, drops the expired ones,
// keeps the index's own expiry at its latest entry's and publishes the
// entry, in one step: a revocation is in the index exactly when it was
// published, which is what lets a reload after subscribing miss nothing.
var indexScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local want = tonumber(ARGV[2]) - tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < want then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. ARGV[1])
return 1
`)

// index applies a revocation to the local mirror, if any, then records
// and publishes it. It runs before the revocation's own key is written, so
// that whatever a direct check can see, the mirrors have been sent.
func (s *Store) index(ctx context.Context, member string, until time.Time) error {
	if s.mirror != nil {
		s.mirror.apply(member, until.UnixMilli())
	}
	return s.call(ctx, func(ctx context.Context) error {
		return indexScript.Run(ctx, s.c, []string{s.indexKey()},
			member, until.UnixMilli(), time.Now().UnixMilli(), s.channel()).Err()
	})
}

// sync reloads the mirror from the index after a (re)subscription.
func (s *Store) sync(ctx context.Context) error {
	start := time.Now()
	var entries []redis.Z
	err := s.callTimeout(ctx, max(s.cfg.timeout, syncTimeout), func(ctx context.Context) error {
		var err error
		entries, err = s.c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: s.indexKey(), ByScore: true,
			Start: "(" + strconv.FormatInt(start.UnixMilli(), 10), Stop: "+inf",
		}).Result()
		return err
	})
	if err != nil {
		return err
	}
	m := s.mirror
	for _, z := range entries {
		if member, ok := z.Member.(string); ok {
			m.apply(member, int64(z.Score))
		}
	}
	m.setFresh(start)
	if m.onState != nil {
		m.onState(true)
	}
	return nil
}

// startMirror starts the subscription that keeps the mirror fresh.
func (s *Store) startMirror(sub redis.UniversalClient) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stop = func() { cancel(); <-done }
	m := s.mirror
	go func() {
		defer close(done)
		redisnotify.Run(ctx, sub, redisnotify.Config{
			Channel: s.channel(),
			Deliver: m.deliver,
			Sync:    s.sync,
			Down: func() {
				m.fresh.Store(0)
				if m.onState != nil {
					m.onState(false)
				}
			},
			Heartbeat:  mirrorHeartbeat,
			Fresh:      m.setFresh,
			MinBackoff: s.cfg.mirrorMinBackoff,
			Logger:     s.cfg.logger,
			Name:       "redisstore: denylist mirror",
		})
	}()
}

// Close stops the goroutine that [WithLocalMirror] starts; Revoked then
// asks Redis on every call. It does not close the Redis client. Without the
// mirror it does nothing. Safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
	})
	return nil
}
