package ratelimit

import (
	"errors"
	"net/http"
)

// Problem bodies (RFC 9457) are constants: they name the problem and
// nothing about the server.
var (
	tooManyBody = []byte(`{"type":"about:blank","title":"Too Many Requests","status":429,` +
		`"detail":"The request rate limit is exceeded; retry after the number of seconds in Retry-After."}` + "\n")
	noKeyBody = []byte(`{"type":"about:blank","title":"Bad Request","status":400,` +
		`"detail":"The request lacks what the rate limit is keyed on."}` + "\n")
	badCostBody = []byte(`{"type":"about:blank","title":"Bad Request","status":400,` +
		`"detail":"The request has an invalid rate-limit cost."}` + "\n")
	internalBody = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,` +
		`"detail":"The rate limit could not be checked."}` + "\n")
)

func writeProblem(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/problem+json"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func defaultDenied(w http.ResponseWriter, _ *http.Request, _ Decision) {
	writeProblem(w, http.StatusTooManyRequests, tooManyBody)
}

func defaultError(w http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case errors.Is(err, ErrEmptyKey):
		writeProblem(w, http.StatusBadRequest, noKeyBody)
	case errors.Is(err, ErrInvalidCost):
		writeProblem(w, http.StatusBadRequest, badCostBody)
	default:
		writeProblem(w, http.StatusInternalServerError, internalBody)
	}
}
