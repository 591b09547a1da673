// Package metricsbench compares covet's metrics middleware with promhttp's
// InstrumentHandler chain and slok/go-http-metrics on the same handler and
// harness. Run it with:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 6 ./metrics/
package metricsbench
