package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/cachex/cachemetrics"
	"github.com/covetgo/covet/cachex/redisstore"
)

// caches holds the service's caches: users by ID (a typed cache with
// negative caching) and the HTTP response cache of the user list.
type caches struct {
	a     *service
	users *cachex.Cache[user]
	list  func(http.Handler) http.Handler

	listHTTP *cachex.HTTPCache
}

const userTTL = 5 * time.Minute

func newCaches(a *service) (*caches, error) {
	opts, err := a.cacheOptions(a.cfg.AppName + ":cache:users:")
	if err != nil {
		return nil, err
	}
	users, err := cachex.New[user](append(opts,
		cachex.WithNegativeTTL(30*time.Second),
		cachex.WithStaleIfError(time.Minute))...)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, users.Close)
	if err := a.registerCache("users", users); err != nil {
		return nil, err
	}
	c := &caches{a: a, users: users}
	if c.list, err = newListCache(a, c); err != nil {
		return nil, err
	}
	return c, nil
}

// cacheOptions are the options every cache of the service starts from: its
// logger and, when Redis is configured, a Redis tier under prefix with the
// service's Redis timeout (redisstore's breaker then serves reads from the
// database and the in-process tier while Redis is down).
func (a *service) cacheOptions(prefix string) ([]cachex.Option, error) {
	opts := []cachex.Option{cachex.WithLogger(a.log)}
	if a.rdb == nil {
		return opts, nil
	}
	tier, err := redisstore.New(a.rdb, redisstore.WithKeyPrefix(prefix),
		redisstore.WithTimeout(a.cfg.RedisTimeout), redisstore.WithLogger(a.log))
	if err != nil {
		return nil, err
	}
	opts = append(opts, cachex.WithShared(tier))
	if !a.cfg.CacheLocal {
		opts = append(opts, cachex.WithoutLocal())
	}
	return opts, nil
}

// registerCache exports src's stats on the service's registry.
func (a *service) registerCache(name string, src cachemetrics.Source) error {
	col, err := cachemetrics.NewCollector(name, src)
	if err != nil {
		return err
	}
	return a.reg.Register(col)
}

func (c *caches) user(ctx context.Context, id int64) (user, error) {
	u, err := c.users.GetOrLoad(ctx, strconv.FormatInt(id, 10), userTTL, func(ctx context.Context) (user, error) {
		u, err := c.a.users.Get(ctx, id)
		if errors.Is(err, errNotFound) {
			return u, cachex.ErrNotFound
		}
		return u, err
	})
	if errors.Is(err, cachex.ErrNotFound) {
		return u, errNotFound
	}
	return u, err
}

// usersChanged drops what a new or changed user makes stale: its own entry
// (a cached "not found") and every cached page of the list.
func (c *caches) usersChanged(ctx context.Context, id int64) {
	if err := c.users.Delete(ctx, strconv.FormatInt(id, 10)); err != nil {
		c.a.log.WarnContext(ctx, "cache invalidation", "err", err)
	}
	if err := c.invalidateList(ctx); err != nil {
		c.a.log.WarnContext(ctx, "cache invalidation", "err", fmt.Errorf("user list: %w", err))
	}
}
