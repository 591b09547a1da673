//go:build purego || covet_purego

package ratelimit

// bytesString returns a copy of b as a string: the build without unsafe
// (conv_unsafe.go shares the bytes instead).
func bytesString(b []byte) string {
	return string(b)
}
