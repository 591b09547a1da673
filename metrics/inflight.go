package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// inFlightGauge is http_requests_in_flight: an integer gauge updated with a
// single atomic add, where prometheus.Gauge needs a compare-and-swap loop
// on a float that retries under contention. It is read at scrape time.
type inFlightGauge struct {
	desc *prometheus.Desc
	n    atomic.Int64
}

func newInFlightGauge(constLabels prometheus.Labels) *inFlightGauge {
	return &inFlightGauge{desc: prometheus.NewDesc(InFlightName,
		"Number of HTTP requests being served.", nil, constLabels)}
}

// Describe implements prometheus.Collector.
func (g *inFlightGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *inFlightGauge) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.n.Load()))
}
