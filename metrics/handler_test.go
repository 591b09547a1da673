package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func scrape(t *testing.T, h http.Handler, accept string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("scrape status = %d", w.Code)
	}
	body, _ := io.ReadAll(w.Body)
	return string(body)
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name        string
		opts        []HandlerOption
		want, avoid []string
	}{
		{"bare", nil, nil, []string{"go_goroutines", "process_"}},
		{"go", []HandlerOption{WithGoCollector()}, []string{"go_goroutines"}, []string{"process_cpu_seconds_total"}},
		{"go and process", []HandlerOption{WithGoCollector(), WithProcessCollector()}, []string{"go_goroutines", "process_cpu_seconds_total"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := New(reg)
			if err != nil {
				t.Fatal(err)
			}
			serve(m.Handler(http.NotFoundHandler()), http.MethodGet, "/")
			h, err := Handler(reg, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			// A second call reuses the collectors.
			if _, err := Handler(reg, tt.opts...); err != nil {
				t.Fatalf("second Handler: %v", err)
			}
			body := scrape(t, h, "")
			for _, s := range append(tt.want, `http_requests_total{endpoint="unmatched",method="GET",outcome="completed",status="404"} 1`) {
				if !strings.Contains(body, s) {
					t.Errorf("scrape lacks %q", s)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(body, s) {
					t.Errorf("scrape has %q", s)
				}
			}
		})
	}
}

func TestHandlerOpenMetricsExemplar(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, WithTraceID(func(context.Context) string { return "abc123" }))
	if err != nil {
		t.Fatal(err)
	}
	serve(m.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	h, err := Handler(reg)
	if err != nil {
		t.Fatal(err)
	}
	body := scrape(t, h, "application/openmetrics-text; version=1.0.0; charset=utf-8")
	if !strings.Contains(body, `# {trace_id="abc123"} 1`) {
		t.Errorf("OpenMetrics scrape lacks the exemplar:\n%s", body)
	}
}

func TestHandlerErrors(t *testing.T) {
	if _, err := Handler(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Handler(nil) error = %v; want ErrInvalidConfig", err)
	}
	// A different collector already using the Go collector's names.
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_goroutines", Help: "x"}))
	if _, err := Handler(reg, WithGoCollector()); !errors.Is(err, ErrRegister) {
		t.Errorf("Handler(go clash) error = %v; want ErrRegister", err)
	}
	reg = prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_open_fds", Help: "x"}))
	if _, err := Handler(reg, WithProcessCollector()); !errors.Is(err, ErrRegister) {
		t.Errorf("Handler(process clash) error = %v; want ErrRegister", err)
	}
}
