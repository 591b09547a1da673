package cachex_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/cachex"
)

type Product struct {
	ID    int
	Name  string
	Price int
}

func ExampleCache_GetOrLoad() {
	ctx := context.Background()
	// In-process only; add cachex.WithShared(tier) (package redisstore) to
	// share values across replicas.
	products, err := cachex.New[Product]()
	if err != nil {
		panic(err)
	}
	defer products.Close()

	load := func(ctx context.Context) (Product, error) {
		fmt.Println("loading product 1")
		return Product{ID: 1, Name: "lamp", Price: 1999}, nil
	}
	for i := 0; i < 2; i++ {
		p, err := products.GetOrLoad(ctx, "product:1", time.Minute, load)
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Name, p.Price)
	}
	// Output:
	// loading product 1
	// lamp 1999
	// lamp 1999
}

func ExampleCache_GetOrLoad_notFound() {
	ctx := context.Background()
	products, _ := cachex.New[Product](cachex.WithNegativeTTL(10 * time.Second))
	defer products.Close()

	load := func(ctx context.Context) (Product, error) {
		fmt.Println("querying")
		return Product{}, fmt.Errorf("product 404: %w", cachex.ErrNotFound)
	}
	for i := 0; i < 2; i++ {
		_, err := products.GetOrLoad(ctx, "product:404", time.Minute, load)
		fmt.Println(errors.Is(err, cachex.ErrNotFound))
	}
	// Output:
	// querying
	// true
	// true
}

func ExampleCache_InvalidateTag() {
	ctx := context.Background()
	products, _ := cachex.New[Product]()
	defer products.Close()

	_ = products.Set(ctx, "product:1", Product{ID: 1, Name: "lamp"}, time.Hour, cachex.Tags("catalogue"))
	_ = products.InvalidateTag(ctx, "catalogue")
	_, err := products.Get(ctx, "product:1")
	fmt.Println(errors.Is(err, cachex.ErrNotFound))
	// Output: true
}

func ExampleNewHTTPCache() {
	store, err := cachex.New[cachex.Response]()
	if err != nil {
		panic(err)
	}
	defer store.Close()
	hc, err := cachex.NewHTTPCache(store, time.Minute)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=30")
		fmt.Fprintln(w, "hello")
	})
	h := hc.Handler(mux)
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/hello", nil))
		fmt.Print(w.Header().Get("X-Cache"), " ", w.Body.String())
	}
	// Output:
	// MISS hello
	// HIT hello
}
