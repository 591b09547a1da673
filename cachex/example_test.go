package cachex_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

func ExampleWithTags() {
	store, err := cachex.New[cachex.Response]()
	if err != nil {
		panic(err)
	}
	defer store.Close()
	// A product's page is tagged with the product, and with "products"
	// as every page showing products would be. The cache runs before the
	// mux, so the tags come from the URL, not from r.PathValue.
	hc, err := cachex.NewHTTPCache(store, time.Minute, cachex.WithTags(func(r *http.Request) []string {
		if id, ok := strings.CutPrefix(r.URL.Path, "/products/"); ok {
			return []string{"products", "product:" + id}
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "product", r.PathValue("id"))
	})
	mux.HandleFunc("PUT /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		// ...update the product, then drop its cached pages on every
		// replica.
		if err := hc.InvalidateTag(r.Context(), "product:"+r.PathValue("id")); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := hc.Handler(mux)
	serve := func(method, path string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		if method == "GET" {
			fmt.Print(w.Header().Get("X-Cache"), " ", w.Body.String())
		}
	}
	serve("GET", "/products/1")
	serve("GET", "/products/2")
	serve("GET", "/products/1")
	serve("PUT", "/products/1")
	serve("GET", "/products/1")
	serve("GET", "/products/2")
	// Output:
	// MISS product 1
	// MISS product 2
	// HIT product 1
	// MISS product 1
	// HIT product 2
}
