// Package depguard measures what a user pays for importing one covet
// package: for each tiny program under testdata (a package used the light
// way), the modules and packages it links and the size of its stripped
// binary. The programs are built in a throwaway module that requires covet
// through a replace directive, as a user's module would, so that only what
// the program imports is counted.
//
// The guard test (go test ./internal/depguard) fails when a program links a
// module listed as forbidden in [Cases]; the consumer test checks that adding
// one covet package to an older module upgrades nothing. The depsize command
// (go run ./internal/cmd/depsize) prints BENCHMARKS.md's table.
//
// The package uses the standard library only and runs the go command found
// on PATH.
package depguard
