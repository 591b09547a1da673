package health

import (
	"encoding/json"
	"net/http"
	"time"
)

// Liveness returns the liveness handler: always 200 with status pass, the
// version fields and the uptime (an IETF "uptime" check in seconds). It never
// runs a check or touches a dependency, and it stays 200 while draining, so
// that an orchestrator does not restart a process that is shutting down.
// Only GET and HEAD are allowed.
func (c *Checker) Liveness() http.Handler { return liveness{c} }

type liveness struct{ c *Checker }

func (h liveness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	c := h.c
	now := c.now()
	b := ietfBody{
		Status:      StatusPass,
		Version:     c.cfg.version,
		ReleaseID:   c.cfg.releaseID,
		ServiceID:   c.cfg.serviceID,
		Description: c.cfg.description,
		Checks: map[string][]ietfCheck{"uptime": {{
			ComponentType: "system",
			ObservedValue: now.Sub(c.start).Seconds(),
			ObservedUnit:  "s",
			Status:        StatusPass,
			Time:          now.UTC().Format(time.RFC3339Nano),
		}}},
	}
	data, _ := json.Marshal(b)
	writeBody(w, hdrHealthJSON, http.StatusOK, append(data, '\n'))
}
