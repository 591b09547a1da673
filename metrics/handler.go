package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the /metrics endpoint for reg, served by
// promhttp.HandlerFor with OpenMetrics enabled so that exemplars are
// exposed. With [WithGoCollector] and [WithProcessCollector] it first
// registers those collectors on reg (reusing them if already there); by
// default it registers nothing. Mount it where you like, ideally on an
// internal port: metrics reveal routes and traffic.
func Handler(reg *prometheus.Registry, opts ...HandlerOption) (http.Handler, error) {
	if reg == nil {
		return nil, errorf("registry is nil")
	}
	cfg, err := handlerConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.goCollector {
		if _, err := register(reg, collectors.NewGoCollector()); err != nil {
			return nil, err
		}
	}
	if cfg.processCollector {
		if _, err := register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A collector failing must not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	}), nil
}
