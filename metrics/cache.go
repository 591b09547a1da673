package metrics

import (
	"sync"
	"sync/atomic"
)

// cowMap is a copy-on-write map: lookups are a lock-free atomic load plus a
// plain map access, so they scale across cores and allocate nothing, while
// rare inserts copy the map under a mutex. It suits caches whose keys settle
// after warm-up, like the set of (method, route, status) a service answers.
type cowMap[K comparable, V any] struct {
	mu  sync.Mutex
	cur atomic.Pointer[map[K]V]
	max int
}

func (c *cowMap[K, V]) load(k K) (V, bool) {
	if m := c.cur.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// store adds k unless the map is full; it reports whether k is now cached.
// k must not alias memory the caller will reuse.
func (c *cowMap[K, V]) store(k K, v V) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	n := 0
	if old != nil {
		n = len(*old)
		if _, ok := (*old)[k]; ok {
			return true
		}
	}
	if n >= c.max {
		return false
	}
	m := make(map[K]V, n+1)
	if old != nil {
		for key, val := range *old {
			m[key] = val
		}
	}
	m[k] = v
	c.cur.Store(&m)
	return true
}

func (c *cowMap[K, V]) len() int {
	if m := c.cur.Load(); m != nil {
		return len(*m)
	}
	return 0
}
