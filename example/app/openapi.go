package app

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// openAPIDocument is the service's HTTP contract (OpenAPI 3.1), served at
// GET /openapi.yaml and checked against the service by the contract test.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// openAPIETag is the document's strong validator: a hash of its bytes, so a
// new build with an unchanged document keeps it.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// serveOpenAPI answers the document as application/yaml (RFC 9512) with an
// ETag; ServeContent answers If-None-Match with 304 and serves ranges.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("ETag", openAPIETag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "openapi.yaml", time.Time{}, bytes.NewReader(openAPIDocument))
}
