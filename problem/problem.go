package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the RFC 9457 media type.
const ContentType = "application/problem+json"

// Header values are assigned to the header map directly, so writing a
// prepared body allocates nothing for them. Each slice has len == cap: an
// Add by a later handler copies instead of writing into the shared array.
var (
	hdrProblem = []string{ContentType}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
)

type body struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Body returns the JSON body of a problem with type about:blank, the given
// status, title (http.StatusText(status) when empty) and detail (left out
// when empty), ending in a newline. Details name the problem; they must
// never carry internals such as an error's text or a request's values.
func Body(status int, title, detail string) []byte {
	if title == "" {
		title = http.StatusText(status)
	}
	data, err := json.Marshal(body{Type: "about:blank", Title: title, Status: status, Detail: detail})
	if err != nil { // strings and an int: cannot happen
		panic("problem: encoding body: " + err.Error())
	}
	return append(data, '\n')
}

// Write sends b, a problem body from Body (or one with extension members),
// with status and the headers every problem response carries: Content-Type
// application/problem+json, X-Content-Type-Options nosniff (a browser must
// not render it as anything else) and Cache-Control no-store (an error is
// never cached). A Content-Length set by an earlier layer for another body
// is dropped. Other headers, such as Retry-After or WWW-Authenticate, are
// the caller's to set before.
func Write(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = hdrProblem
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNoSniff
	delete(h, "Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Error writes a problem with status, its standard title and detail.
func Error(w http.ResponseWriter, status int, detail string) {
	Write(w, status, Body(status, "", detail))
}
