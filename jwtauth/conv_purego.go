//go:build purego || covet_purego

package jwtauth

// stringBytes returns a copy of s's bytes: the build without unsafe
// (conv_unsafe.go returns a view instead).
func stringBytes(s string) []byte {
	return []byte(s)
}
