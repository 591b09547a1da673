// Package problem writes RFC 9457 problem details, the one error body every
// covet package answers bad requests and failures with, so that they all
// carry the same headers.
package problem
