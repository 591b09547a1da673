package tracing

import (
	"sync"
	"sync/atomic"
)

// maxNames bounds the span-name cache. Routes are bounded by the router,
// so the cache fills only in a service with thousands of routes; past it
// names are still built, one concatenation per request.
const maxNames = 4096

type nameKey struct{ method, route string }

// nameCache maps (method, route) to the span name "METHOD route", so that
// naming a span allocates nothing once a route has been seen. Lookups are
// an atomic load and a map access; inserts copy the map under a mutex.
type nameCache struct {
	mu  sync.Mutex
	cur atomic.Pointer[map[nameKey]string]
	max int
}

func (c *nameCache) name(method, route string) string {
	k := nameKey{method, route}
	if m := c.cur.Load(); m != nil {
		if n, ok := (*m)[k]; ok {
			return n
		}
	}
	n := method + " " + route
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	size := 0
	if old != nil {
		size = len(*old)
	}
	if size >= c.max {
		return n
	}
	m := make(map[nameKey]string, size+1)
	if old != nil {
		for key, v := range *old {
			m[key] = v
		}
	}
	m[k] = n
	c.cur.Store(&m)
	return n
}
