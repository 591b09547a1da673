package jsonbody

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/covetgo/covet/problem"
)

// DefaultMaxBytes is the body size limit of a [Decoder] made without
// [WithMaxBytes]: 1 MiB.
const DefaultMaxBytes = 1 << 20

// Errors returned by [Decoder.Decode] and [Decoder.Unmarshal]; each refusal
// wraps exactly one of them, so callers branch with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every error [New] returns.
	ErrInvalidConfig = errors.New("jsonbody: invalid configuration")
	// ErrContentType: the Content-Type is missing, is not one of the
	// accepted media types, or names a charset other than UTF-8 (415).
	ErrContentType = errors.New("jsonbody: unsupported content type")
	// ErrTooLarge: the body is larger than the limit (413).
	ErrTooLarge = errors.New("jsonbody: body too large")
	// ErrRead: the body could not be read, typically because the client
	// went away (400).
	ErrRead = errors.New("jsonbody: reading body")
	// ErrSyntax: the body is empty, is not valid JSON or UTF-8, holds a
	// lone surrogate escape, is nested deeper than 1000 levels, or has
	// anything but white space after its value (400).
	ErrSyntax = errors.New("jsonbody: malformed JSON")
	// ErrDuplicate: an object, at any depth, has two members with the same
	// name (400).
	ErrDuplicate = errors.New("jsonbody: duplicate member")
	// ErrUnknownMember: an object decoded into a struct has a member that
	// is not one of the struct's JSON names, compared case-sensitively (400).
	ErrUnknownMember = errors.New("jsonbody: unknown member")
	// ErrValue: a value does not fit its Go type: the wrong JSON type, a
	// number out of range, or a value a field's UnmarshalJSON or
	// UnmarshalText refused (400).
	ErrValue = errors.New("jsonbody: invalid value")
)

// Error is the error a refusal returns. It wraps one of the sentinels;
// Detail is a sentence for the client that names the problem and, at most,
// a member name declared by the destination type, never a value or a name
// the client made up.
type Error struct {
	Kind   error  // one of the sentinels above
	Detail string // safe to show to the client
	Offset int64  // byte offset into the body where it was found, or -1
	cause  error
}

func (e *Error) Error() string {
	s := e.Kind.Error() + ": " + e.Detail
	if e.Offset >= 0 {
		s += " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and, when there is one, the underlying error
// (a read error, an *encoding/json.UnmarshalTypeError, a field's own
// UnmarshalJSON error).
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

func fail(kind error, off int64, detail string) *Error {
	return &Error{Kind: kind, Detail: detail, Offset: off}
}

// Option configures a [Decoder].
type Option func(*config) error

type config struct {
	maxBytes int64
	types    []string
}

// WithMaxBytes sets the body size limit (default [DefaultMaxBytes]); n must
// be positive. A larger body is refused with [ErrTooLarge] before it is
// parsed; when the request declares its length, before it is read.
func WithMaxBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: max bytes %d is not positive", ErrInvalidConfig, n)
		}
		c.maxBytes = n
		return nil
	}
}

// WithContentTypes replaces the accepted media types (default
// application/json alone). Each must be a bare type/subtype such as
// "application/merge-patch+json"; comparison is case-insensitive. Structured
// syntax suffixes are not accepted by default because a +json type names a
// format of its own (a merge patch is not a replacement document): a handler
// that understands one lists it here.
func WithContentTypes(types ...string) Option {
	return func(c *config) error {
		if len(types) == 0 {
			return fmt.Errorf("%w: no content types", ErrInvalidConfig)
		}
		c.types = c.types[:0]
		for _, t := range types {
			mt, params, err := mime.ParseMediaType(t)
			if err != nil || len(params) != 0 || !strings.Contains(mt, "/") || mt == "*/*" || strings.HasSuffix(mt, "/*") {
				return fmt.Errorf("%w: content type %q is not a bare type/subtype", ErrInvalidConfig, t)
			}
			c.types = append(c.types, mt)
		}
		return nil
	}
}

// Decoder decodes JSON request bodies strictly. Build one with [New] and
// share it: it is safe for concurrent use and caches what it learns about
// each destination type. The zero Decoder uses the defaults.
type Decoder struct {
	maxBytes int64
	types    []string // lower-case; nil means application/json
	schemas  sync.Map // reflect.Type → *node
}

// New returns a Decoder with the defaults (a 1 MiB limit, application/json
// only) changed by opts. Bad options return an error wrapping
// [ErrInvalidConfig].
func New(opts ...Option) (*Decoder, error) {
	c := config{maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	return &Decoder{maxBytes: c.maxBytes, types: c.types}, nil
}

func (d *Decoder) limit() int64 {
	if d.maxBytes <= 0 {
		return DefaultMaxBytes
	}
	return d.maxBytes
}

// Decode reads r's body and decodes it into dst, a non-nil pointer, after
// checking the Content-Type, the size and the strict rules described in the
// package documentation. On a refusal it returns an [*Error] wrapping one of
// the sentinels, and dst is left untouched; any other error (dst not a
// pointer) is the caller's bug. Decode does not close the body; the server
// does.
func (d *Decoder) Decode(r *http.Request, dst any) error {
	if err := d.checkType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	max := d.limit()
	if r.ContentLength > max {
		return d.tooLarge()
	}
	if r.Body == nil || r.Body == http.NoBody {
		return fail(ErrSyntax, 0, "request body is empty")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		if _, ok := asType[*http.MaxBytesError](err); ok {
			return d.tooLarge()
		}
		e := fail(ErrRead, -1, "request body could not be read")
		e.cause = err
		return e
	}
	if int64(len(data)) > max {
		return d.tooLarge()
	}
	return d.Unmarshal(data, dst)
}

func (d *Decoder) tooLarge() error {
	return fail(ErrTooLarge, -1, "request body is larger than "+strconv.FormatInt(d.limit(), 10)+" bytes")
}

func (d *Decoder) checkType(ct string) error {
	if ct == "" {
		return fail(ErrContentType, -1, "request body must be sent as "+d.typeList())
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		for k, v := range params {
			if k != "charset" || !strings.EqualFold(v, "utf-8") {
				err = errors.New("parameter")
				break
			}
		}
	}
	if err == nil {
		if d.types == nil {
			if mt == "application/json" {
				return nil
			}
		} else {
			for _, t := range d.types {
				if mt == t {
					return nil
				}
			}
		}
	}
	return fail(ErrContentType, -1, "request body must be sent as "+d.typeList())
}

func (d *Decoder) typeList() string {
	if d.types == nil {
		return "application/json"
	}
	return strings.Join(d.types, " or ")
}

// Read is Decode plus the answer: on a refusal it writes the problem with
// [WriteError] and returns false, and the handler just returns.
//
//	var in createUser
//	if !dec.Read(w, r, &in) {
//		return
//	}
func (d *Decoder) Read(w http.ResponseWriter, r *http.Request, dst any) bool {
	err := d.Decode(r, dst)
	if err != nil {
		WriteError(w, err)
		return false
	}
	return true
}

// WriteError answers err, from [Decoder.Decode] or [Decoder.Unmarshal], as
// an application/problem+json (RFC 9457) response: 415 for
// [ErrContentType], 413 for [ErrTooLarge], 400 for the others, with the
// [Error]'s Detail. Any other error is answered 500 with no detail, so
// nothing internal leaks.
func WriteError(w http.ResponseWriter, err error) {
	e, ok := asType[*Error](err)
	if !ok {
		problem.Error(w, http.StatusInternalServerError, "")
		return
	}
	status := http.StatusBadRequest
	switch e.Kind {
	case ErrContentType:
		status = http.StatusUnsupportedMediaType
	case ErrTooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	problem.Error(w, status, e.Detail)
}

// Unmarshal decodes data into dst, a non-nil pointer, by the strict rules
// (no Content-Type or size check: those belong to [Decoder.Decode]).
func (d *Decoder) Unmarshal(data []byte, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jsonbody: destination must be a non-nil pointer, not %T", dst)
	}
	n := d.schema(rv.Type().Elem())
	if err := check(data, n); err != nil {
		return err
	}
	return decode(data, dst, n)
}

// asType is errors.As returning the target, for Go releases before
// errors.AsType (1.26).
func asType[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
