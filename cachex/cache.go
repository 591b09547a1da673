package cachex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrNotFound reports a key that is not cached. A loader returns it (or
	// wraps it) to say the value does not exist; the cache then remembers
	// that for the negative TTL and returns it to every caller.
	ErrNotFound = errors.New("cachex: not found")
	// ErrInvalid reports a bad argument: an empty key or a TTL that is not
	// positive.
	ErrInvalid = errors.New("cachex: invalid argument")
	// ErrInvalidConfig is wrapped by every constructor error caused by a bad
	// argument or option; ErrInvalid is for the arguments of a call.
	ErrInvalidConfig = errors.New("cachex: invalid configuration")
	// ErrShared wraps a failure of the shared tier reported by Set,
	// SetMany, Delete or InvalidateTag. The in-process tier is updated
	// regardless.
	ErrShared = errors.New("cachex: shared tier")
	// ErrEncode wraps a value that msgpack cannot encode.
	ErrEncode = errors.New("cachex: encode")
	// ErrLoaderPanic wraps a panic raised by a loader; the panic does not
	// escape the goroutine that ran the load.
	ErrLoaderPanic = errors.New("cachex: loader panicked")
)

// Cache is a typed cache of V values over an in-process tier, a shared tier
// (Redis, through package redisstore), or both. Values are encoded with
// msgpack inside a versioned envelope, so a
// value that some other program wrote under the same key reads as a miss
// (and is deleted) rather than as garbage.
//
// A value read from the in-process tier is shared by every reader: callers
// must not modify what they get (copy slices and maps before changing them).
//
// Cache is safe for concurrent use. Call Close to stop its goroutines.
type Cache[V any] struct {
	cfg    config
	local  *otter.Cache[string, *entry[V]]
	shared Shared
	codecs *codecs
	stats  counters
	tags   tagStore
	fence  fence
	origin string
	log    *slog.Logger

	holders sync.Pool // *entry[V], for Get without an in-process tier

	flightMu sync.Mutex
	flights  map[string]*call[V]

	bgMu     sync.Mutex
	closed   bool
	bg       sync.WaitGroup
	stopSub  context.CancelFunc
	subDone  chan struct{}
	subReady chan struct{}
	subUp    bool        // the subscription has been up once; owned by the subscriber
	live     atomic.Bool // subscribed: in-process copies and tag versions are trusted
	once     sync.Once
}

// entry is one cached value with its expiry times (Unix milliseconds).
type entry[V any] struct {
	val      V
	soft     int64
	hard     int64
	notFound bool
	tags     []tagRef
	size     uint32
}

// New returns a cache configured by opts: by default in-process only,
// bounded to 32 MiB, with S2 compression above 1 KiB, 10% TTL jitter and a
// 5s negative TTL. With WithShared (and the in-process tier) it also starts
// a goroutine that applies other replicas' invalidations; Close stops it.
// Until that subscription is established, reads go through to the shared
// tier (see the package overview, Staleness).
func New[V any](opts ...Option) (*Cache[V], error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cd, err := newCodecs(cfg.comp == CompressionZstd)
	if err != nil {
		return nil, err
	}
	c := &Cache[V]{
		cfg:     cfg,
		shared:  cfg.shared,
		codecs:  cd,
		origin:  newOrigin(),
		log:     cfg.logger,
		flights: make(map[string]*call[V]),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.fence.init()
	// Tag versions kept in process are trusted while the subscription
	// that would forget them is up; without a shared tier they are the
	// truth, and without invalidation messages they live out the local TTL.
	var live *atomic.Bool
	if cfg.shared != nil && cfg.invalidate {
		live = &c.live
	}
	c.tags.init(cfg.shared, cfg.localTTL, cfg.now, live)
	if cfg.local {
		c.local, err = newLocal[V](&cfg)
		if err != nil {
			cd.close()
			return nil, err
		}
	}
	if c.shared != nil && c.local != nil && cfg.invalidate {
		ctx, cancel := context.WithCancel(context.Background())
		c.stopSub = cancel
		c.subDone = make(chan struct{})
		c.subReady = make(chan struct{})
		go c.subscribe(ctx)
	}
	return c, nil
}

// Close stops the invalidation subscriber, waits for background refreshes
// and loads (each bounded by the load timeout) and releases the codecs. The
// cache keeps answering afterwards, with loads run on the caller's
// goroutine. Close is idempotent.
func (c *Cache[V]) Close() error {
	c.once.Do(func() {
		c.bgMu.Lock()
		c.closed = true
		c.bgMu.Unlock()
		if c.stopSub != nil {
			c.stopSub()
			<-c.subDone
		}
		c.bg.Wait()
		if c.local != nil {
			c.local.StopAllGoroutines()
		}
		c.codecs.close()
	})
	return nil
}

// spawn runs fn on a goroutine owned by the cache, or reports false after
// Close.
func (c *Cache[V]) spawn(fn func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		return false
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		fn()
	}()
	return true
}

func (c *Cache[V]) nowMs() int64 { return c.cfg.now().UnixMilli() }

// Get returns the fresh value cached under key, or ErrNotFound. Trouble
// with the shared tier reads as a miss.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	var zero V
	if c.local == nil {
		return c.getShared(ctx, key)
	}
	e, now := c.find(ctx, key, true)
	if e == nil || e.notFound || now >= e.soft {
		return zero, ErrNotFound
	}
	return e.val, nil
}

// Set stores v under key for ttl (shortened by the jitter) in every tier
// and tells other replicas to drop their in-process copy. Failures of the
// shared tier are returned wrapped in ErrShared after the in-process tier
// is updated;
// a tagged value is stored nowhere when its tag versions cannot be read.
func (c *Cache[V]) Set(ctx context.Context, key string, v V, ttl time.Duration, opts ...ItemOption) error {
	if key == "" || ttl <= 0 {
		return fmt.Errorf("%w: Set(%q, ttl %v)", ErrInvalid, key, ttl)
	}
	it := itemOptions(opts)
	refs, err := c.tags.refs(ctx, it.tags)
	if err != nil {
		return err
	}
	return c.store(ctx, key, v, false, ttl, refs, true)
}

// Delete removes keys from every tier and from other replicas' in-process
// tiers.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if c.local != nil {
		for _, k := range keys {
			c.local.Invalidate(k)
		}
	}
	if c.shared == nil {
		return nil
	}
	return c.sharedErr(c.shared.Delete(ctx, keys, c.note(msgKeys, keys)))
}

// GetOrLoad returns the value cached under key or, on a miss, the one
// loader returns, which it caches for ttl.
//
// Concurrent misses of one key share a single load. Each caller waits only
// as long as its own ctx allows; the load itself runs detached from the
// callers (bounded by the load timeout) so one caller leaving does not
// cancel it for the others. A loader that returns ErrNotFound is remembered
// for the negative TTL. With WithStaleWhileRevalidate, a stale value is
// returned at once and refreshed in the background; with WithStaleIfError, a
// stale value is returned when the loader fails. Trouble with the shared
// tier never fails the call: reads fall through to the loader and writes
// are best effort.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) (V, error), opts ...ItemOption) (V, error) {
	var zero V
	switch {
	case key == "":
		return zero, fmt.Errorf("%w: GetOrLoad: empty key", ErrInvalid)
	case ttl <= 0:
		return zero, fmt.Errorf("%w: GetOrLoad(%q): ttl %v must be positive", ErrInvalid, key, ttl)
	case loader == nil:
		return zero, fmt.Errorf("%w: GetOrLoad(%q): loader is nil", ErrInvalid, key)
	}
	e, now := c.find(ctx, key, true)
	if e != nil && now < e.soft {
		// The hit path builds no closure, so it allocates nothing.
		if e.notFound {
			return zero, ErrNotFound
		}
		return e.val, nil
	}
	e, _, err := c.resolve(ctx, key, e, now, opts, func(ctx context.Context) (V, time.Duration, error) {
		v, err := loader(ctx)
		return v, ttl, err
	})
	if err != nil {
		return zero, err
	}
	return e.val, nil
}

// loadFunc loads a value and says how long to keep it.
type loadFunc[V any] func(ctx context.Context) (V, time.Duration, error)

// getOrLoad is GetOrLoad for callers that choose the TTL when loading. It
// reports whether the entry returned is stale.
func (c *Cache[V]) getOrLoad(ctx context.Context, key string, opts []ItemOption, load loadFunc[V]) (*entry[V], bool, error) {
	e, now := c.find(ctx, key, true)
	return c.resolve(ctx, key, e, now, opts, load)
}

// resolve answers from e, found at now, loading as needed.
func (c *Cache[V]) resolve(ctx context.Context, key string, e *entry[V], now int64, opts []ItemOption, load loadFunc[V]) (*entry[V], bool, error) {
	if e != nil && now < e.soft {
		if e.notFound {
			return nil, false, ErrNotFound
		}
		return e, false, nil
	}
	fn := c.loader(key, opts, load)
	if e != nil && !e.notFound && now < e.hard {
		if c.cfg.swr > 0 && now < e.soft+c.cfg.swr.Milliseconds() {
			c.startLoad(ctx, key, fn)
			return e, true, nil
		}
		ne, err := c.waitLoad(ctx, key, fn)
		if err != nil && !errors.Is(err, ErrNotFound) && c.cfg.sie > 0 && now < e.soft+c.cfg.sie.Milliseconds() {
			return e, true, nil
		}
		return c.result(ne, err)
	}
	return c.result(c.waitLoad(ctx, key, fn))
}

func (c *Cache[V]) result(e *entry[V], err error) (*entry[V], bool, error) {
	if err != nil {
		return nil, false, err
	}
	if e.notFound {
		return nil, false, ErrNotFound
	}
	return e, false, nil
}

// loader wraps load: it checks again for a fresh value (another load may
// have finished since the caller missed), runs load, and stores the result.
func (c *Cache[V]) loader(key string, opts []ItemOption, load loadFunc[V]) func(context.Context) (*entry[V], error) {
	it := itemOptions(opts)
	return func(ctx context.Context) (*entry[V], error) {
		if e := c.lookupQuiet(ctx, key); e != nil && c.nowMs() < e.soft {
			return e, nil
		}
		// Tag versions are read before loading, so an invalidation that
		// lands during the load makes the stored value stale at once.
		// If they cannot be read, the value is returned but not stored:
		// stored untagged, it would escape a later invalidation.
		refs, err := c.tags.refs(ctx, it.tags)
		c.stats.loads.Add(1)
		v, ttl, lerr := load(ctx)
		switch {
		case lerr == nil:
			if ttl <= 0 {
				return nil, fmt.Errorf("%w: load returned ttl %v", ErrInvalid, ttl)
			}
			if err == nil {
				_ = c.store(ctx, key, v, false, ttl, refs, false)
			}
			now := c.nowMs()
			return &entry[V]{val: v, soft: now + ttl.Milliseconds(), hard: now + ttl.Milliseconds()}, nil
		case errors.Is(lerr, ErrNotFound):
			if c.cfg.negTTL > 0 && err == nil {
				var zero V
				_ = c.store(ctx, key, zero, true, c.cfg.negTTL, refs, false)
			}
			return &entry[V]{notFound: true}, nil
		default:
			c.stats.loadErrors.Add(1)
			c.log.WarnContext(ctx, "cachex: load failed", "key", key, "err", lerr)
			return nil, lerr
		}
	}
}

// store encodes v and writes it to every tier. Failures of the shared tier
// are counted and returned wrapped in ErrShared. announce tells the other
// replicas to drop their in-process copy of key: a change (Set) is
// announced; a fill (a loaded value, a response stored after a miss) is
// not, since it holds what any replica would load, and announcing it would
// make every other replica drop a valid copy and read it again.
func (c *Cache[V]) store(ctx context.Context, key string, v V, notFound bool, ttl time.Duration, refs []tagRef, announce bool) error {
	return c.storeAll(ctx, []string{key}, []V{v}, notFound, ttl, refs, announce)
}

// storeAll is store for several keys, written to the shared tier in one
// call (one round trip with redisstore).
func (c *Cache[V]) storeAll(ctx context.Context, keys []string, vals []V, notFound bool, ttl time.Duration, refs []tagRef, announce bool) error {
	envs := make([][]byte, len(keys))
	exps := make([]time.Duration, len(keys))
	for i, key := range keys {
		e, env, err := c.makeEntry(vals[i], notFound, ttl, refs)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		if c.local != nil {
			c.local.Set(key, e)
		}
		envs[i] = env
		exps[i] = max(time.Duration(e.hard-c.nowMs())*time.Millisecond, time.Millisecond)
	}
	if c.shared == nil {
		return nil
	}
	var note []byte
	if announce {
		note = c.note(msgKeys, keys)
	}
	return c.sharedErr(c.shared.Set(ctx, keys, envs, exps, note))
}

// makeEntry builds the in-process entry and its envelope.
func (c *Cache[V]) makeEntry(v V, notFound bool, ttl time.Duration, refs []tagRef) (*entry[V], []byte, error) {
	now := c.nowMs()
	if !notFound && c.cfg.jitter > 0 {
		ttl -= time.Duration(float64(ttl) * c.cfg.jitter * c.cfg.rand())
	}
	soft := now + max(ttl.Milliseconds(), 1)
	hard := soft
	if !notFound {
		hard += max(c.cfg.swr, c.cfg.sie).Milliseconds()
	}
	var payload []byte
	if !notFound {
		var err error
		payload, err = msgpack.Marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrEncode, err)
		}
	}
	h := header{notFound: notFound, soft: soft, hard: hard, tags: refs}
	env := c.codecs.encodeEnvelope(h, payload, c.cfg.comp, c.cfg.threshold)
	e := &entry[V]{val: v, soft: soft, hard: hard, notFound: notFound, tags: refs, size: uint32(min(len(payload)+64, 1<<31))}
	if notFound {
		var zero V
		e.val = zero
	}
	return e, env, nil
}

// decodeEntry turns an envelope back into an entry.
func (c *Cache[V]) decodeEntry(b []byte) (*entry[V], error) {
	e := new(entry[V])
	if err := c.decodeInto(b, e); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeInto decodes an envelope into e, which must be zero.
func (c *Cache[V]) decodeInto(b []byte, e *entry[V]) error {
	h, body, err := decodeHeader(b)
	if err != nil {
		return err
	}
	e.soft, e.hard, e.notFound, e.tags, e.size = h.soft, h.hard, h.notFound, h.tags, uint32(len(b)+64)
	if h.notFound {
		return nil
	}
	payload, err := c.codecs.decompress(h.comp, body)
	if err != nil {
		return err
	}
	if err := c.codecs.unmarshal(payload, &e.val); err != nil {
		return errCorrupt
	}
	return nil
}

// lookup finds key in the in-process tier, then in the shared tier
// (copying a shared hit into the in-process tier). It returns nil on a
// miss and skips entries past their hard expiry or whose tags were
// invalidated. While the cache is not subscribed to invalidations, the
// shared tier answers first and the in-process tier only when the shared
// one cannot.
func (c *Cache[V]) lookup(ctx context.Context, key string) *entry[V] {
	e, _ := c.find(ctx, key, true)
	return e
}

// lookupQuiet is lookup without counting.
func (c *Cache[V]) lookupQuiet(ctx context.Context, key string) *entry[V] {
	e, _ := c.find(ctx, key, false)
	return e
}

// find is lookup that also returns the time it judged the entry by.
func (c *Cache[V]) find(ctx context.Context, key string, count bool) (*entry[V], int64) {
	now := c.nowMs()
	direct := c.direct()
	if c.local != nil && !direct {
		if e := c.findLocal(ctx, key, now, count); e != nil {
			return e, now
		}
	}
	if c.shared == nil {
		return nil, now
	}
	var g *atomic.Uint64
	var gen uint64
	if c.local != nil {
		g = c.fence.gen(key)
		gen = g.Load()
	}
	e := new(entry[V])
	ok, reached := c.sharedGetInto(ctx, key, now, count, e)
	if c.local == nil {
		if !ok {
			return nil, now
		}
		return e, now
	}
	if direct {
		if !reached {
			// The shared tier cannot answer: the in-process copy,
			// bounded by the local TTL, serves as in any outage.
			return c.findLocal(ctx, key, now, count), now
		}
		if count {
			c.stats.local.misses.Add(1)
		}
	}
	if !ok {
		return nil, now
	}
	c.fill(key, e, g, gen)
	return e, now
}

// findLocal returns key's usable in-process entry, or nil, dropping an
// entry past its hard expiry or whose tags were invalidated.
func (c *Cache[V]) findLocal(ctx context.Context, key string, now int64, count bool) *entry[V] {
	if e, ok := c.local.GetIfPresent(key); ok {
		if now < e.hard && c.tags.valid(ctx, e.tags) {
			if count {
				c.stats.local.hit(now >= e.soft)
			}
			return e
		}
		c.local.Invalidate(key)
	}
	if count {
		c.stats.local.misses.Add(1)
	}
	return nil
}

// getShared is Get without an in-process tier: the value is decoded into a
// pooled entry and copied out, so nothing outlives the call.
func (c *Cache[V]) getShared(ctx context.Context, key string) (V, error) {
	var zero V
	e, _ := c.holders.Get().(*entry[V])
	if e == nil {
		e = new(entry[V])
	}
	now := c.nowMs()
	ok, _ := c.sharedGetInto(ctx, key, now, true, e)
	v, fresh := e.val, ok && !e.notFound && now < e.soft
	*e = entry[V]{} // the pool keeps no reference to the value
	c.holders.Put(e)
	if !fresh {
		return zero, ErrNotFound
	}
	return v, nil
}

// sharedGetInto reads key from the shared tier and decodes it into e
// (which must be zero); it reports whether e holds a usable entry, and
// whether the tier answered at all.
func (c *Cache[V]) sharedGetInto(ctx context.Context, key string, now int64, count bool, e *entry[V]) (ok, reached bool) {
	vals, err := c.shared.Get(ctx, []string{key})
	if err != nil {
		if count {
			c.stats.shared.errors.Add(1)
		}
		return false, false
	}
	return c.accept(ctx, key, vals[0], now, count, e), true
}

// accept decodes b, the shared tier's value of key, into e (which must be
// zero) and reports whether it is usable. Absent, foreign, corrupt, expired
// or invalidated values are misses; foreign and corrupt ones are deleted.
func (c *Cache[V]) accept(ctx context.Context, key string, b []byte, now int64, count bool, e *entry[V]) bool {
	if b == nil {
		if count {
			c.stats.shared.misses.Add(1)
		}
		return false
	}
	if err := c.decodeInto(b, e); err != nil {
		c.dropForeign(ctx, key)
		if count {
			c.stats.shared.misses.Add(1)
		}
		return false
	}
	if now >= e.hard || !c.tags.valid(ctx, e.tags) {
		if count {
			c.stats.shared.misses.Add(1)
		}
		return false
	}
	if count {
		c.stats.shared.hit(now >= e.soft)
	}
	return true
}

// dropForeign deletes a value that is not one of ours or is damaged; the
// next load replaces it.
func (c *Cache[V]) dropForeign(ctx context.Context, key string) {
	if err := c.shared.Delete(ctx, []string{key}, nil); err != nil {
		c.stats.shared.errors.Add(1)
	}
}

// sharedErr counts a failure of the shared tier and wraps it in ErrShared.
// The tier has logged it.
func (c *Cache[V]) sharedErr(err error) error {
	if err == nil {
		return nil
	}
	c.stats.shared.errors.Add(1)
	return fmt.Errorf("%w: %w", ErrShared, err)
}
