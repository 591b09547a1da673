package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxBody caps the request body of the login, refresh and logout handlers:
// their members are short strings, so anything larger is not one of them.
const maxBody = 16 << 10

// Request body errors; each wraps [ErrBadRequest].
var (
	errMediaType = fmt.Errorf("%w: content type is not application/json", ErrBadRequest)
	errTooLarge  = fmt.Errorf("%w: body too large", ErrBadRequest)
)

// decodeBody reads the request's JSON body strictly into dst, a pointer to
// a struct whose fields are strings tagged with their member names: the
// body must be application/json, valid UTF-8, one object whose member
// names match the tags exactly (not case-insensitively, as encoding/json
// would), each at most once, each a string, with nothing after it. A
// member left out leaves its field "". Every refusal wraps [ErrBadRequest].
func decodeBody(r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errMediaType
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: reading body: %w", ErrBadRequest, err)
	case len(b) > maxBody:
		return errTooLarge
	case !utf8.Valid(b):
		return fmt.Errorf("%w: body is not UTF-8", ErrBadRequest)
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	fields := make(map[string]reflect.Value, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = v.Field(i)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: body is not a JSON object", ErrBadRequest)
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		name, _ := tok.(string)
		f, ok := fields[name]
		switch {
		case !ok:
			return fmt.Errorf("%w: unknown member %q", ErrBadRequest, name)
		case seen[name]:
			return fmt.Errorf("%w: duplicate member %q", ErrBadRequest, name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%w: member %q is not a string", ErrBadRequest, name)
		}
		f.SetString(s)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON object", ErrBadRequest)
	}
	return nil
}
