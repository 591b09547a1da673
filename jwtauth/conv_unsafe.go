//go:build !purego

package jwtauth

import "unsafe"

// stringBytes returns a read-only view of s's bytes, so that hashing a token
// copies nothing. The result must never be written.
// Built with -tags purego, the plain copy in conv_purego.go is used instead.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
