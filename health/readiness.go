package health

import (
	"fmt"
	"net/http"
	"strings"
)

// Readiness returns the readiness handler: 200 when every critical check
// passes (status pass, or warn when a non-critical one fails), 503 when a
// critical check fails or after Drain, with an IETF health+json body.
//
// Query parameters, as in Kubernetes' /readyz:
//   - ?verbose gives a plain-text "[+]name ok" / "[-]name failed: …" list;
//   - ?exclude=name (repeatable, or comma-separated) leaves checks out;
//     unknown names are ignored and reported in the ?verbose listing, so a
//     renamed check never breaks a probe.
//
// Mounted on a route with a {check} wildcard (a ServeMux pattern or a chi
// parameter), it answers for the check the router matched alone: 503 when it
// fails, critical or not; 404 for an unknown name. The name comes only from
// the router's path value, never from the URL path, so the handler answers
// the same wherever it is mounted (behind http.StripPrefix, in a sub-router).
// [Checker.CheckHandler] serves one check at a fixed route.
//
// Only GET and HEAD are allowed. While draining, probes are answered from
// the last run without running the checks again.
func (c *Checker) Readiness() http.Handler { return readiness{c: c} }

// CheckHandler returns a readiness handler for the named check alone: 200
// when it passes, 503 when it fails, critical or not; ?verbose gives the
// plain-text line. It fails when no check has that name.
func (c *Checker) CheckHandler(name string) (http.Handler, error) {
	if _, ok := c.byName[name]; !ok {
		return nil, fmt.Errorf("%w: no check named %q", ErrInvalidConfig, name)
	}
	return readiness{c: c, name: name}, nil
}

// readiness serves every check, or only the one named by name or, when name
// is empty, by the router's {check} path value.
type readiness struct {
	c    *Checker
	name string
}

func (h readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	name := h.name
	if name == "" {
		name = checkName(r)
	}
	draining := c.draining.Load()
	var s *snapshot
	if draining {
		if s = c.snap.Load(); s == nil {
			s = c.drainOnly
		}
	} else {
		var err error
		if s, err = c.current(r.Context()); err != nil {
			if err != ErrClosed {
				// The client went away while the checks ran.
				writeProblem(w, http.StatusServiceUnavailable, "the health checks did not finish before the request ended")
				return
			}
			s, draining = c.drainOnly, true
		}
	}
	if name == "" && r.URL.RawQuery == "" {
		if draining {
			writeBody(w, hdrHealthJSON, http.StatusServiceUnavailable, s.drainBody)
		} else {
			writeBody(w, hdrHealthJSON, s.code, s.body)
		}
		return
	}
	c.serveFiltered(w, r, s, name, draining)
}

func methodNotAllowed(w http.ResponseWriter) {
	w.Header()["Allow"] = []string{"GET, HEAD"}
	writeProblem(w, http.StatusMethodNotAllowed, "health endpoints answer GET and HEAD only")
}

// serveFiltered answers a single-check, ?exclude or ?verbose request.
func (c *Checker) serveFiltered(w http.ResponseWriter, r *http.Request, s *snapshot, name string, draining bool) {
	q := r.URL.Query()
	_, verbose := q["verbose"]
	results := s.report.Checks
	var st Status
	var unknown []string
	output := ""
	if name != "" {
		ch, ok := c.byName[name]
		if !ok {
			writeProblem(w, http.StatusNotFound, "no health check has this name")
			return
		}
		results = nil
		st = StatusFail
		output = "shutting down"
		for _, res := range s.report.Checks {
			if res.Name == ch.name {
				results, st, output = []Result{res}, res.Status, ""
				break
			}
		}
		draining = draining && results == nil
	} else {
		if ex := q["exclude"]; len(ex) > 0 {
			results, unknown = c.exclude(results, ex)
		}
		st = statusOf(results)
		if draining {
			st, output = StatusFail, "shutting down"
		}
	}
	if verbose {
		writeBody(w, hdrPlainText, httpCode(st), c.verbose(st, results, draining, unknown))
		return
	}
	body, code := c.render(st, results, output)
	writeBody(w, hdrHealthJSON, code, body)
}

// exclude drops the named checks, returning the names that match none.
func (c *Checker) exclude(results []Result, values []string) (kept []Result, unknown []string) {
	drop := make(map[string]bool)
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if _, ok := c.byName[n]; !ok {
				unknown = append(unknown, n)
				continue
			}
			drop[n] = true
		}
	}
	kept = make([]Result, 0, len(results))
	for _, res := range results {
		if !drop[res.Name] {
			kept = append(kept, res)
		}
	}
	return kept, unknown
}

// checkName returns the router's {check} path value, or "" for all checks.
func checkName(r *http.Request) string {
	// Path values can be inherited from an outer chi router, so they count
	// only when the matched pattern is the one that declares them.
	if strings.Contains(r.Pattern, "{check") {
		return r.PathValue("check")
	}
	return ""
}
