package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newTestMiddleware(t *testing.T, opts ...Option) (*Middleware, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

// family returns the gathered metric family name, or nil.
func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// metric returns the metric of family name whose labels are exactly
// labels ("k=v,k=v"), or nil.
func metric(t *testing.T, reg *prometheus.Registry, name, labels string) *dto.Metric {
	t.Helper()
	mf := family(t, reg, name)
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		var parts []string
		for _, lp := range m.GetLabel() {
			parts = append(parts, lp.GetName()+"="+lp.GetValue())
		}
		if strings.Join(parts, ",") == labels {
			return m
		}
	}
	return nil
}

func seriesCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

func counterValue(t *testing.T, reg *prometheus.Registry, labels string) float64 {
	t.Helper()
	m := metric(t, reg, RequestsTotalName, labels)
	if m == nil {
		t.Fatalf("no %s{%s}; have %v", RequestsTotalName, labels, labelSets(t, reg, RequestsTotalName))
	}
	return m.GetCounter().GetValue()
}

func labelSets(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	var out []string
	mf := family(t, reg, name)
	for _, m := range mf.GetMetric() {
		var parts []string
		for _, lp := range m.GetLabel() {
			parts = append(parts, lp.GetName()+"="+lp.GetValue())
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}
