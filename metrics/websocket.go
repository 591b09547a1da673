package metrics

import (
	"github.com/covetgo/covet/internal/typednil"
	"github.com/prometheus/client_golang/prometheus"
)

// WebSocketConnectionsName is the name of the gauge [NewWebSocketGauge]
// registers.
const WebSocketConnectionsName = "websocket_connections_active"

// NewWebSocketGauge returns the websocket_connections_active gauge,
// registered on reg (or the one already registered there). Increment it
// when a connection is upgraded and decrement it when it closes:
//
//	g.Inc()
//	defer g.Dec()
//
// The HTTP metrics record the upgrade request itself with status 101.
func NewWebSocketGauge(reg prometheus.Registerer) (prometheus.Gauge, error) {
	if typednil.Is(reg) {
		return nil, errorf("registerer is nil")
	}
	return register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: WebSocketConnectionsName,
		Help: "Number of open websocket connections.",
	}))
}
