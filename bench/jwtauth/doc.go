// Package jwtauthbench compares covet's jwtauth middleware with
// go-chi/jwtauth on HS256 verification, in the shared middleware harness
// (BenchmarkHS256) and alone, with one request and a discarding writer
// reused per goroutine (BenchmarkOverhead).
package jwtauthbench
