// Package cachemetrics exports [cachex] caches' stats to Prometheus. It
// lives beside cachex so that a program that does not use Prometheus does
// not link client_golang.
//
//	col, err := cachemetrics.NewCollector("products", products)
//	if err != nil { ... }
//	reg.MustRegister(col)
package cachemetrics
