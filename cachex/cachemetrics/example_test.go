package cachemetrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/cachex/cachemetrics"
)

func ExampleNewCollector() {
	products, err := cachex.New[string]()
	if err != nil {
		panic(err)
	}
	defer products.Close()
	col, err := cachemetrics.NewCollector("products", products)
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry() // the registry the service exposes
	reg.MustRegister(col)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		fmt.Println(mf.GetName())
	}
	// Output:
	// cachex_errors_total
	// cachex_loads_total
	// cachex_local_bytes
	// cachex_local_entries
	// cachex_reads_total
	// cachex_resubscribes_total
}
