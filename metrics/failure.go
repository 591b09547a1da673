package metrics

import (
	"context"
	"fmt"
	"net/http"
)

// Failure describes a request that ended in a 5xx status or a panic, for
// the hook set with [WithErrorHook]. It holds no header, cookie, query or
// body, so nothing secret the client sent reaches an error tracker through
// it.
type Failure struct {
	// Method is the method label (the nine standard methods or
	// [OtherMethod]), Route the endpoint label.
	Method string
	Route  string
	// Status is the status code the client received.
	Status int
	// RequestID, UserID and TraceID identify the request; each is "" when
	// unknown.
	RequestID string
	UserID    string
	TraceID   string
	// Err is never nil: the error recorded with [RecordError] (or logged
	// through a handler that records it), else the panic, else an error
	// naming the status.
	Err error
	// Stack is the stack of the goroutine where the panic was raised, when
	// the panic went through the middleware; nil otherwise.
	Stack []byte
}

// PanicError is the error of a [Failure] or [RequestEnd] caused by a panic
// that went through the middleware. Value is what was passed to panic.
type PanicError struct {
	Value any
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// WithErrorHook makes [New] call fn, after the response, for every request
// that ends with a 5xx status or panics, with the request's context and a
// [Failure] naming the request and its error. It runs on the request's
// goroutine: hand slow work (network calls to an error tracker) to a
// queue, as error-tracking clients do. A panic going through the
// middleware is recovered, reported and re-raised; http.ErrAbortHandler,
// the deliberate abort, is not reported. Read by [New].
func WithErrorHook(fn func(ctx context.Context, f Failure)) Option {
	return newOption(func(c *config) {
		if fn == nil {
			c.fail("error hook is nil")
			return
		}
		c.errorHook = fn
	})
}

// RecordError records err as the cause of the failure of the request whose
// context ctx is, for [WithErrorHook] and [WithTracer]; only the first
// error recorded for a request is kept. It does nothing when ctx is not
// inside a [Middleware] built with one of them (or with [WithLogger]), or
// when err is nil. It is safe for concurrent use.
//
// Handlers usually do not call it themselves: metrics/tracing's log
// handler records the error of every record logged at error level.
func RecordError(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if info := infoFrom(ctx); info != nil {
		info.err.CompareAndSwap(nil, &err)
	}
}

// failureError returns the error a failed request is reported with.
func failureError(recorded error, status int) error {
	if recorded != nil {
		return recorded
	}
	return fmt.Errorf("status %d %s", status, http.StatusText(status))
}
