//go:build !purego

package ratelimit

import "unsafe"

// bytesString returns a string sharing b's bytes, so that building a header
// value costs one allocation instead of two. b must never be written again.
// Built with -tags purego, the plain copy in conv_purego.go is used instead.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
