package app

import (
	"context"
	"net/http"
	"time"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/jwtauth"
)

// listTTL is how long a page of the user list is served from the cache.
const listTTL = 30 * time.Second

// listTag tags every cached page of the user list: a write invalidates the
// tag, and every page stored before it reads as a miss on every replica.
// The tag's version lives in Redis when configured and is mirrored in
// process while the cache's invalidation subscription is up, so a hit costs
// no round trip; a replica learns of another's write when the invalidation
// message arrives (see BENCHMARKS.md for the measured window), and reads
// the version from Redis while the subscription is down.
const listTag = "users-list"

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
	tags := []string{listTag}
	hc, err := cachex.NewHTTPCache(store, listTTL,
		cachex.WithTags(func(*http.Request) []string { return tags }),
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
	c.listHTTP = hc
	return func(next http.Handler) http.Handler {
		// Compression inside the cache: pages are stored compressed (one
		// variant per Accept-Encoding) and hits are served as stored.
		return hc.Handler(a.compress(next))
	}, nil
}

func (c *caches) invalidateList(ctx context.Context) error {
	return c.listHTTP.InvalidateTag(ctx, listTag)
}
