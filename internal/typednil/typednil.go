// Package typednil tells whether an interface value is nil or holds a nil
// pointer (or other nil-able kind): an argument such as a
// (*redis.Client)(nil) passed as a redis.UniversalClient, which == nil does
// not catch and which would panic only at the first request.
package typednil

import "reflect"

// Is reports whether v is nil, or a pointer, map, slice, channel, function
// or interface that is nil.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
