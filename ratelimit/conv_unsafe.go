//go:build !purego && !covet_purego

package ratelimit

import "unsafe"

// bytesString returns a string sharing b's bytes, so that building a header
// value costs one allocation instead of two. b must never be written again.
// Built with -tags purego, the plain copy in conv_purego.go is used instead;
// -tags covet_purego does the same and leaves the rest of the build alone
// (purego also turns off the standard library's assembly, in crypto and
// hash/maphash), so the two builds compare the conversion alone.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
