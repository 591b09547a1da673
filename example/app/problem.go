package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/covetgo/covet/problem"
)

// problemBody is an RFC 9457 body with field errors.
type problemBody struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// writeProblem answers with an RFC 9457 body through the library's one
// problem writer (same headers as every package's errors), with the field
// errors of a rejected body as an extension member.
func writeProblem(w http.ResponseWriter, status int, detail string, fields ...FieldError) {
	if len(fields) == 0 {
		problem.Error(w, status, detail)
		return
	}
	body, err := json.Marshal(problemBody{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields})
	if err != nil {
		problem.Error(w, status, detail)
		return
	}
	problem.Write(w, status, append(body, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recoverer turns a panic into a 500 problem and one log line, so the client
// gets an answer and the connection stays usable. http.ErrAbortHandler is
// re-raised: it is how a handler deliberately aborts a response.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panic", "panic", v, "method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
				writeProblem(w, http.StatusInternalServerError, "")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// bodyLimit caps request bodies at n bytes: a declared larger body is refused
// at once with 413, and a body that grows past n while being read fails the
// read, which the handlers answer with 413 too.
func bodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeProblem(w, http.StatusRequestEntityTooLarge, "the request body is larger than "+strconv.FormatInt(n, 10)+" bytes")
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// decodeJSON reads a JSON body into v, answering bad input itself; it
// reports whether the handler should go on. It is strict, as an API that
// stores what it is sent should be: the Content-Type must be JSON (else 415);
// the body must be exactly one object (no trailing data); unknown and
// duplicate fields, NUL characters and invalid UTF-8 are refused with a 422
// that names the field. Only JSON that is not well-formed gets 400.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		writeProblem(w, http.StatusUnsupportedMediaType, "the request body must be application/json")
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "the request body is too large")
			return false
		}
		writeProblem(w, http.StatusBadRequest, "the request body could not be read")
		return false
	}
	if !json.Valid(body) {
		if len(bytes.TrimSpace(body)) > 0 && json.NewDecoder(bytes.NewReader(body)).Decode(new(json.RawMessage)) == nil {
			writeProblem(w, http.StatusUnprocessableEntity, "the request body must be one JSON object, with nothing after it")
			return false
		}
		writeProblem(w, http.StatusBadRequest, "the request body is not valid JSON")
		return false
	}
	if fe, ok := checkJSONObject(body); !ok {
		if fe.Field == "" {
			writeProblem(w, http.StatusUnprocessableEntity, fe.Message)
		} else {
			writeProblem(w, http.StatusUnprocessableEntity, "the request body is not valid", fe)
		}
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			writeProblem(w, http.StatusUnprocessableEntity, "the request body is not valid", FieldError{te.Field, "must be a JSON " + jsonKind(te.Type.Kind())})
			return false
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name, _ := strconv.Unquote(f)
			writeProblem(w, http.StatusUnprocessableEntity, "the request body is not valid", FieldError{name, "is not a field of this endpoint"})
			return false
		}
		writeProblem(w, http.StatusUnprocessableEntity, "the request body is not the JSON object this endpoint expects")
		return false
	}
	return true
}

// checkJSONObject checks valid JSON for what encoding/json lets through:
// a top level other than an object, duplicate names, and strings holding
// NUL or invalid UTF-8 (which encoding/json silently replaces with U+FFFD).
func checkJSONObject(body []byte) (FieldError, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, _ := dec.Token()
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return FieldError{Message: "the request body must be a JSON object"}, false
	}
	var walk func(path string, inObject bool) (FieldError, bool)
	// walk reads the rest of an object (after '{') or array (after '[').
	walk = func(path string, inObject bool) (FieldError, bool) {
		seen := map[string]bool{}
		for dec.More() {
			field := path
			if inObject {
				start := dec.InputOffset()
				t, _ := dec.Token()
				name, _ := t.(string)
				field = strings.TrimPrefix(path+"."+name, ".")
				if fe, ok := checkString(field, name, body[start:dec.InputOffset()]); !ok {
					return fe, false
				}
				if seen[name] {
					return FieldError{field, "appears more than once"}, false
				}
				seen[name] = true
			}
			start := dec.InputOffset()
			t, _ := dec.Token()
			switch x := t.(type) {
			case json.Delim:
				sub := field
				if x == '[' {
					sub += "[]"
				}
				if fe, ok := walk(sub, x == '{'); !ok {
					return fe, false
				}
				_, _ = dec.Token() // the closing delimiter
			case string:
				if fe, ok := checkString(field, x, body[start:dec.InputOffset()]); !ok {
					return fe, false
				}
			}
		}
		return FieldError{}, true
	}
	return walk("", true)
}

func checkString(field, decoded string, raw []byte) (FieldError, bool) {
	field = strings.TrimSuffix(field, "[]")
	if strings.ContainsRune(decoded, 0) {
		return FieldError{field, "must not contain NUL characters"}, false
	}
	// Invalid bytes and lone surrogate escapes both decode to U+FFFD; a
	// U+FFFD the client really sent is in the literal, raw or escaped.
	if !utf8.Valid(raw) {
		return FieldError{field, "must be valid UTF-8"}, false
	}
	if n := strings.Count(decoded, "\uFFFD"); n > 0 {
		lit := strings.ToLower(string(raw))
		if n > strings.Count(lit, "\uFFFD")+strings.Count(lit, `\ufffd`) {
			return FieldError{field, "must be valid UTF-8"}, false
		}
	}
	return FieldError{}, true
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "number"
}
