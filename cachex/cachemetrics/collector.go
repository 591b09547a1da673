package cachemetrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/internal/typednil"
)

// ErrInvalidConfig is wrapped by every error of NewCollector.
var ErrInvalidConfig = errors.New("cachemetrics: invalid configuration")

// Source is anything with cache stats; every *cachex.Cache[V] is one.
type Source interface {
	Stats() cachex.Stats
}

// Collector exports a cache's stats as Prometheus metrics, labelled with
// the cache's name. Register it on a registry of your choice:
//
//	col, err := cachemetrics.NewCollector("users", usersCache)
//	...
//	reg.MustRegister(col)
//
// Metrics: cachex_reads_total{cache,tier="local|shared",result="hit|miss|stale"},
// cachex_errors_total{cache,tier}, cachex_loads_total{cache,result="ok|error"},
// cachex_resubscribes_total{cache}, cachex_local_bytes{cache} and
// cachex_local_entries{cache}. Collector is safe for concurrent use.
type Collector struct {
	name                                   string
	src                                    Source
	reads, errors, loads, resubs, bytes, n *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of src's stats under the label
// cache=name. It refuses an empty name and a nil src (also a nil
// *cachex.Cache).
func NewCollector(name string, src Source) (*Collector, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: NewCollector: empty name", ErrInvalidConfig)
	}
	if typednil.Is(src) {
		return nil, fmt.Errorf("%w: NewCollector(%q): src is nil", ErrInvalidConfig, name)
	}
	cl := prometheus.Labels{"cache": name}
	return &Collector{
		name:   name,
		src:    src,
		reads:  prometheus.NewDesc("cachex_reads_total", "Cache reads by tier and result.", []string{"tier", "result"}, cl),
		errors: prometheus.NewDesc("cachex_errors_total", "Failed calls to a cache tier.", []string{"tier"}, cl),
		loads:  prometheus.NewDesc("cachex_loads_total", "Loader calls by result.", []string{"result"}, cl),
		resubs: prometheus.NewDesc("cachex_resubscribes_total", "Re-established invalidation subscriptions (each flushed the in-process tier).", nil, cl),
		bytes:  prometheus.NewDesc("cachex_local_bytes", "Weight of the in-process tier in bytes.", nil, cl),
		n:      prometheus.NewDesc("cachex_local_entries", "Entries in the in-process tier (estimate).", nil, cl),
	}, nil
}

// Describe sends the metrics' descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reads, c.errors, c.loads, c.resubs, c.bytes, c.n} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, t := range []struct {
		name string
		s    cachex.TierStats
	}{{"local", s.Local}, {"shared", s.Shared}} {
		counter(c.reads, t.s.Hits, t.name, "hit")
		counter(c.reads, t.s.Misses, t.name, "miss")
		counter(c.reads, t.s.Stale, t.name, "stale")
		counter(c.errors, t.s.Errors, t.name)
	}
	counter(c.loads, s.Loads-s.LoadErrors, "ok")
	counter(c.loads, s.LoadErrors, "error")
	counter(c.resubs, s.Resubscribes)
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.LocalBytes))
	ch <- prometheus.MustNewConstMetric(c.n, prometheus.GaugeValue, float64(s.LocalEntries))
}
