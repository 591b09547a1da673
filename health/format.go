package health

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/covetgo/covet/problem"
)

// Media types of the responses.
const (
	// ContentTypeHealth is the IETF health check response media type.
	ContentTypeHealth = "application/health+json"
	// ContentTypeProblem is the RFC 9457 problem details media type.
	ContentTypeProblem = problem.ContentType
)

// Header values shared by every response. They are assigned to the header
// map directly so that a cached probe allocates nothing for them; the slices
// have len == cap, so an append by a later handler copies instead of writing
// into them.
var (
	hdrHealthJSON = []string{ContentTypeHealth}
	hdrPlainText  = []string{"text/plain; charset=utf-8"}
	hdrNoStore    = []string{"no-store"}
	hdrNoSniff    = []string{"nosniff"}
)

// ietfBody is the IETF "Health Check Response Format for HTTP APIs" body.
type ietfBody struct {
	Status      Status                 `json:"status"`
	Version     string                 `json:"version,omitempty"`
	ReleaseID   string                 `json:"releaseId,omitempty"`
	ServiceID   string                 `json:"serviceId,omitempty"`
	Description string                 `json:"description,omitempty"`
	Output      string                 `json:"output,omitempty"`
	Checks      map[string][]ietfCheck `json:"checks,omitempty"`
}

type ietfCheck struct {
	ComponentType string  `json:"componentType,omitempty"`
	ObservedValue float64 `json:"observedValue"`
	ObservedUnit  string  `json:"observedUnit"`
	Status        Status  `json:"status"`
	Time          string  `json:"time"`
	Output        string  `json:"output,omitempty"`
}

// snapshot is one run's report with its responses rendered in advance, so
// that a cached probe only writes bytes.
type snapshot struct {
	report    Report
	expires   time.Time
	body      []byte // full readiness body
	code      int
	drainBody []byte // the same while draining (status fail, 503)
}

func (c *Checker) newSnapshot(rep Report, finished time.Time) *snapshot {
	s := &snapshot{report: rep, expires: finished.Add(c.cfg.ttl)}
	s.body, s.code = c.render(rep.Status, rep.Checks, "")
	s.drainBody, _ = c.render(StatusFail, rep.Checks, "shutting down")
	return s
}

// statusOf is the service status given by a set of results.
func statusOf(results []Result) Status {
	st := StatusPass
	for _, r := range results {
		switch r.Status {
		case StatusFail:
			if r.Critical {
				return StatusFail
			}
			st = StatusWarn
		case StatusWarn:
			st = StatusWarn
		}
	}
	return st
}

func httpCode(st Status) int {
	if st == StatusFail {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

func (c *Checker) output(err error) string {
	if err == nil || c.cfg.hideOutput {
		return ""
	}
	return err.Error()
}

// render builds the IETF body for results with the given overall status.
func (c *Checker) render(st Status, results []Result, output string) ([]byte, int) {
	b := ietfBody{
		Status:      st,
		Version:     c.cfg.version,
		ReleaseID:   c.cfg.releaseID,
		ServiceID:   c.cfg.serviceID,
		Description: c.cfg.description,
		Output:      output,
	}
	if len(results) > 0 {
		b.Checks = make(map[string][]ietfCheck, len(results))
	}
	for _, r := range results {
		key := r.Name + ":responseTime"
		b.Checks[key] = append(b.Checks[key], ietfCheck{
			ComponentType: r.ComponentType,
			ObservedValue: float64(r.Duration) / float64(time.Millisecond),
			ObservedUnit:  "ms",
			Status:        r.Status,
			Time:          r.Time.UTC().Format(time.RFC3339Nano),
			Output:        c.output(r.Err),
		})
	}
	data, err := json.Marshal(b)
	if err != nil { // only strings, numbers and maps of them: cannot happen
		panic("health: encoding body: " + err.Error())
	}
	return append(data, '\n'), httpCode(st)
}

// verbose renders the Kubernetes-style plain-text listing.
func (c *Checker) verbose(st Status, results []Result, draining bool, unknownExcludes []string) []byte {
	var sb strings.Builder
	for _, r := range results {
		if r.Status == StatusPass {
			sb.WriteString("[+]" + r.Name + " ok\n")
			continue
		}
		if r.Status == StatusWarn {
			sb.WriteString("[!]" + r.Name + " warning")
		} else {
			sb.WriteString("[-]" + r.Name + " failed")
		}
		if r.Status == StatusFail && !r.Critical {
			sb.WriteString(" (non-critical)")
		}
		reason := c.output(r.Err)
		if reason == "" {
			reason = "reason withheld"
		}
		sb.WriteString(": " + strings.ReplaceAll(reason, "\n", " ") + "\n")
	}
	if draining {
		sb.WriteString("[-]shutdown failed: shutting down\n")
	}
	if len(unknownExcludes) > 0 {
		sb.WriteString("warn: some checks cannot be excluded: no matches for " + strings.Join(quoteAll(unknownExcludes), ", ") + "\n")
	}
	switch st {
	case StatusPass:
		sb.WriteString("ready check passed\n")
	case StatusWarn:
		sb.WriteString("ready check passed with warnings\n")
	default:
		sb.WriteString("ready check failed\n")
	}
	return []byte(sb.String())
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		q, _ := json.Marshal(s)
		out[i] = string(q)
	}
	return out
}

// writeProblem writes an RFC 9457 problem details response.
func writeProblem(w http.ResponseWriter, code int, detail string) {
	problem.Error(w, code, detail)
}

func writeBody(w http.ResponseWriter, ct []string, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = ct
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
