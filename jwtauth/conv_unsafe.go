//go:build !purego && !covet_purego

package jwtauth

import "unsafe"

// stringBytes returns a read-only view of s's bytes, so that hashing a token
// copies nothing. The result must never be written.
// Built with -tags purego, the plain copy in conv_purego.go is used instead;
// -tags covet_purego does the same and leaves the rest of the build alone
// (purego also turns off the standard library's assembly, in crypto and
// hash/maphash), so the two builds compare the conversion alone.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
