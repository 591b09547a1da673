package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/jwtauth"
)

// listTTL is how long a page of the user list is served from the cache.
const listTTL = 30 * time.Second

// listVersionHeader carries the list's version into the cache key: a write
// bumps the version, so every cached page is missed from then on and
// expires unread.
const listVersionHeader = "X-Covet-Users-Version"

// listVersion is the user list's version: in Redis when configured, so
// every replica sees a bump, else in process.
type listVersion struct {
	a     *service
	local atomic.Int64
}

func (v *listVersion) key() string { return v.a.cfg.AppName + ":users-list-version" }

func (v *listVersion) get(ctx context.Context) string {
	if v.a.rdb == nil {
		return strconv.FormatInt(v.local.Load(), 10)
	}
	ctx, cancel := context.WithTimeout(ctx, v.a.cfg.RedisTimeout)
	defer cancel()
	s, err := v.a.rdb.Get(ctx, v.key()).Result()
	if err != nil {
		// Missing is version 0; on Redis trouble, skip the cache (a fresh
		// random version) rather than risk a stale page.
		if errors.Is(err, redis.Nil) {
			return "0"
		}
		return "unavailable-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return s
}

func (v *listVersion) bump(ctx context.Context) error {
	if v.a.rdb == nil {
		v.local.Add(1)
		return nil
	}
	return v.a.rdb.Incr(ctx, v.key()).Err()
}

func newListCache(a *service, c *caches) (func(http.Handler) http.Handler, error) {
	opts, err := a.cacheOptions(a.cfg.AppName + ":cache:http:")
	if err != nil {
		return nil, err
	}
	store, err := cachex.New[cachex.Response](opts...)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, store.Close)
	if err := a.registerCache("http_responses", store); err != nil {
		return nil, err
	}
	hc, err := cachex.NewHTTPCache(store, listTTL,
		cachex.WithKeyHeaders(listVersionHeader),
		// Pages are the same for every user, but a response to an
		// authenticated request is only ever shared with the same user.
		cachex.WithPerUserKey(func(r *http.Request) (string, bool) {
			cl, ok := jwtauth.ClaimsFromContext(r.Context())
			if !ok {
				return "", false
			}
			return cl.Subject, true
		}))
	if err != nil {
		return nil, err
	}
	c.version = &listVersion{a: a}
	return func(next http.Handler) http.Handler {
		// Compression inside the cache: pages are stored compressed (one
		// variant per Accept-Encoding) and hits are served as stored.
		cached := hc.Handler(a.compress(next))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set(listVersionHeader, c.version.get(r.Context()))
			cached.ServeHTTP(w, r)
		})
	}, nil
}

func (c *caches) invalidateList(ctx context.Context) error { return c.version.bump(ctx) }
