package poolbench

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/pool"
	"github.com/jackc/puddle/v2"
)

func newClient(context.Context) (*http.Client, error) { return &http.Client{}, nil }

// BenchmarkAcquireRelease: 8 resources, goroutines contending for them.
func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("covet pool.Resources", func(b *testing.B) {
		p, err := pool.NewResources(pool.ResourcesConfig[*http.Client]{
			New: newClient, MaxSize: 8, MaxLifetime: time.Hour, MaxIdleTime: time.Minute, MaxUses: 1 << 30,
			Reset: func(*http.Client) error { return nil },
		})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Release()
			}
		})
	})
	b.Run("puddle", func(b *testing.B) {
		p, err := puddle.NewPool(&puddle.Config[*http.Client]{Constructor: newClient, Destructor: func(*http.Client) {}, MaxSize: 8})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Release()
			}
		})
	})
	b.Run("sync.Pool (unbounded, no lifecycle)", func(b *testing.B) {
		var p sync.Pool
		p.New = func() any { return &http.Client{} }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := p.Get().(*http.Client)
				p.Put(c)
			}
		})
	})
}
