package ratelimit

import (
	"errors"
	"net/http"

	"github.com/covetgo/covet/problem"
)

// Problem bodies (RFC 9457) are constants: they name the problem and
// nothing about the server.
var (
	tooManyBody  = problem.Body(http.StatusTooManyRequests, "", "The request rate limit is exceeded; retry after the number of seconds in Retry-After.")
	noKeyBody    = problem.Body(http.StatusBadRequest, "", "The request lacks what the rate limit is keyed on.")
	badCostBody  = problem.Body(http.StatusBadRequest, "", "The request has an invalid rate-limit cost.")
	internalBody = problem.Body(http.StatusInternalServerError, "", "The rate limit could not be checked.")
)

func defaultDenied(w http.ResponseWriter, _ *http.Request, _ Decision) {
	problem.Write(w, http.StatusTooManyRequests, tooManyBody)
}

func defaultError(w http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case errors.Is(err, ErrEmptyKey):
		problem.Write(w, http.StatusBadRequest, noKeyBody)
	case errors.Is(err, ErrInvalidCost):
		problem.Write(w, http.StatusBadRequest, badCostBody)
	default:
		problem.Write(w, http.StatusInternalServerError, internalBody)
	}
}
