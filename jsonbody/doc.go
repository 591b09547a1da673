// Package jsonbody decodes JSON request bodies strictly, so that a body
// means one thing to the handler, to a proxy or WAF in front of it, and to
// any other JSON parser that reads it.
//
// encoding/json is lenient in ways an API should not be: it matches member
// names case-insensitively (and with Unicode case folding, so "ſ", U+017F,
// matches an s), keeps the last of two members with the same name, ignores
// unknown members, replaces invalid UTF-8 and reads a value from a body with
// more after it. Two parsers that disagree about a body are a classic way
// past a check (a gateway validates the first "role", the handler reads the
// second). A [Decoder] refuses all of these.
//
// # Rules
//
// [Decoder.Decode] reads the request body and decodes it into a Go value.
// The body is refused when:
//
//   - the Content-Type is not application/json (a charset parameter of
//     UTF-8 is allowed, any other parameter is not): [ErrContentType];
//   - it is larger than the limit, 1 MiB unless [WithMaxBytes] says
//     otherwise: [ErrTooLarge];
//   - it cannot be read: [ErrRead];
//   - it is empty, is not JSON, is not UTF-8, has a \u escape of a lone
//     surrogate, nests more than 1000 arrays and objects, or has anything
//     but white space after its value: [ErrSyntax];
//   - an object anywhere in it, even inside a map or an interface{} value,
//     has two members of the same name (after unescaping): [ErrDuplicate];
//   - an object decoded into a struct has a member that is not one of the
//     struct's JSON names, compared byte for byte: [ErrUnknownMember];
//   - a value does not fit its Go type: [ErrValue].
//
// These are the I-JSON rules (RFC 7493) plus exact names and no unknown
// members. Names follow encoding/json's struct tags, embedded structs and
// all; a type with its own UnmarshalJSON or UnmarshalText decides about its
// own members, but duplicates inside it are still refused.
//
// Media types with a +json suffix (application/merge-patch+json,
// application/vnd.x+json) are refused by default: each names a format of its
// own with its own meaning, and a handler that reads one as a plain document
// gets it wrong. A handler that understands one lists it with
// [WithContentTypes].
//
// Only member names and syntax are checked before decoding: a missing
// member is left at its zero value and null is taken as encoding/json takes
// it. Required members and ranges are the handler's to check. When a value
// does not fit ([ErrValue]) the destination may have been partly written;
// every other refusal comes before it is touched.
//
// # Errors
//
// Each refusal is an [*Error] wrapping one sentinel, so a caller branches
// with errors.Is. [WriteError] answers it as an RFC 9457
// application/problem+json response: 415 for a wrong Content-Type, 413 for a
// body too large, 400 otherwise. Its detail names the problem and at most a
// member name the destination type declares: never a value and never a name
// the client sent that the type does not declare. [Decoder.Read] does both
// in one call:
//
//	var in struct {
//		Username string `json:"username"`
//	}
//	if !dec.Read(w, r, &in) {
//		return // a problem+json 4xx has been written
//	}
//
// # Cost
//
// The strict pass is a second scan of the body before encoding/json's
// own; it allocates only for member names with escapes and for objects with
// more than 16 members. See the benchmarks beside the package.
//
// Go's encoding/json/v2 would do most of this (case-sensitive names and
// duplicate refusal are its defaults), but in Go 1.26 it is still behind
// GOEXPERIMENT=jsonv2, so this package uses version 1 plus its own pass.
package jsonbody
