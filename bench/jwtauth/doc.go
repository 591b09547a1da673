// Package jwtauthbench compares covet's jwtauth middleware with
// go-chi/jwtauth on HS256 verification, in the shared middleware harness.
package jwtauthbench
