package metrics

import "unsafe"

// unsafeString views b as a string for a map lookup. The caller must not
// keep the string or change b while it is in use.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
