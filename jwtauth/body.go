package jwtauth

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/covetgo/covet/jsonbody"
)

// maxBody caps the request body of the login, refresh and logout handlers:
// their members are short strings, so anything larger is not one of them.
const maxBody = 16 << 10

// Request body errors; each wraps [ErrBadRequest].
var (
	errMediaType = fmt.Errorf("%w: content type is not application/json", ErrBadRequest)
	errTooLarge  = fmt.Errorf("%w: body too large", ErrBadRequest)
)

// newBodyDecoder returns the decoder of the handlers' request bodies.
func newBodyDecoder() *jsonbody.Decoder {
	d, err := jsonbody.New(jsonbody.WithMaxBytes(maxBody))
	if err != nil { // a constant, valid limit: cannot happen
		panic("jwtauth: " + err.Error())
	}
	return d
}

// decodeBody reads the request's JSON body strictly into dst, as package
// jsonbody does: application/json, at most 16 KiB, UTF-8, one value with
// nothing after it, member names matching the struct's exactly, none
// twice and none unknown. Every refusal wraps [ErrBadRequest] and the
// jsonbody sentinel that says why.
func (a *Auth[C, P]) decodeBody(r *http.Request, dst any) error {
	err := a.body.Decode(r, dst)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jsonbody.ErrContentType):
		return fmt.Errorf("%w: %w", errMediaType, err)
	case errors.Is(err, jsonbody.ErrTooLarge):
		return fmt.Errorf("%w: %w", errTooLarge, err)
	}
	return fmt.Errorf("%w: %w", ErrBadRequest, err)
}
