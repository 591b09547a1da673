package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewWebSocketGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := NewWebSocketGauge(reg)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := NewWebSocketGauge(reg)
	if err != nil {
		t.Fatalf("second NewWebSocketGauge: %v", err)
	}
	g.Inc()
	g2.Inc()
	g.Dec()
	if got := metric(t, reg, WebSocketConnectionsName, "").GetGauge().GetValue(); got != 1 {
		t.Errorf("%s = %v; want 1 (one shared gauge)", WebSocketConnectionsName, got)
	}
	if _, err := NewWebSocketGauge(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewWebSocketGauge(nil) error = %v; want ErrInvalidConfig", err)
	}
}
