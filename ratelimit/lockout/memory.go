package lockout

import (
	"sync"
	"time"
)

// Bounds of the in-memory state: sweepEvery is how many failures a memory
// lockout records between bounded sweeps; sweepBudget is how many entries
// one sweep may visit; evictSample is how many entries are compared when a
// full lockout must forget one.
const (
	sweepEvery  = 256
	sweepBudget = 32
	evictSample = 8
)

// lockMem is the in-process lockout state. Logins are rare enough that one
// mutex does not contend.
type lockMem struct {
	mu  sync.Mutex
	m   map[string]*lockState
	ops int
}

type lockState struct {
	fails, level int64
	start, until time.Time
	exp          time.Time
}

func (m *lockMem) do(c *Rules, maxKeys int, account string, now time.Time, fail bool) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.m[account]
	if ok && !now.Before(st.exp) {
		delete(m.m, account)
		st, ok = nil, false
	}
	if ok && now.Before(st.until) {
		return st.until
	}
	if !fail {
		return time.Time{}
	}
	if !ok {
		if len(m.m) >= maxKeys {
			m.makeRoom(now)
		}
		st = &lockState{}
		m.m[account] = st
	}
	m.ops++
	if m.ops%sweepEvery == 0 {
		m.sweep(now, sweepBudget)
	}
	if now.Sub(st.start) >= c.Window {
		st.fails, st.start = 0, now
	}
	st.fails++
	st.exp = st.start.Add(c.Window)
	if st.fails >= c.MaxFailures {
		st.level++
		st.until = now.Add(c.lockDuration(st.level))
		st.fails, st.start = 0, time.Time{}
	}
	if st.level > 0 {
		if e := st.until.Add(c.Memory); e.After(st.exp) {
			st.exp = e
		}
	}
	if now.Before(st.until) {
		return st.until
	}
	return time.Time{}
}

func (m *lockMem) sweep(now time.Time, budget int) int {
	n := 0
	for k, st := range m.m {
		if budget == 0 {
			break
		}
		budget--
		if !now.Before(st.exp) {
			delete(m.m, k)
			n++
		}
	}
	return n
}

func (m *lockMem) makeRoom(now time.Time) {
	if m.sweep(now, sweepBudget) > 0 {
		return
	}
	var victim string
	var soonest time.Time
	i := 0
	for k, st := range m.m {
		if i == 0 || st.exp.Before(soonest) {
			victim, soonest = k, st.exp
		}
		i++
		if i == evictSample {
			break
		}
	}
	delete(m.m, victim)
}
