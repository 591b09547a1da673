package cachemetrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/cachex"
)

func TestCollector(t *testing.T) {
	ctx := context.Background()
	c, err := cachex.New[int]()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.Set(ctx, "a", 1, time.Minute)
	_, _ = c.Get(ctx, "a")
	_, _ = c.Get(ctx, "b")
	_, _ = c.GetOrLoad(ctx, "c", time.Minute, func(context.Context) (int, error) { return 3, nil })
	reg := prometheus.NewPedanticRegistry()
	col, err := NewCollector("numbers", c)
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(col)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n++
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if m.GetCounter() != nil {
				got[key] = m.GetCounter().GetValue()
			} else {
				got[key] = m.GetGauge().GetValue()
			}
		}
	}
	if n != 13 {
		t.Fatalf("gathered %d metrics; want 13", n)
	}
	for key, want := range map[string]float64{
		"cachex_reads_total,cache=numbers,result=hit,tier=local":  1,
		"cachex_reads_total,cache=numbers,result=miss,tier=local": 2,
		"cachex_loads_total,cache=numbers,result=ok":              1,
		"cachex_local_entries,cache=numbers":                      2,
	} {
		if got[key] != want {
			t.Errorf("%s = %v; want %v", key, got[key], want)
		}
	}
}

func TestNewCollectorRejects(t *testing.T) {
	var nilCache *cachex.Cache[int]
	tests := []struct {
		name string
		src  Source
	}{
		{"", nil},
		{"numbers", nil},
		{"numbers", nilCache},
	}
	for _, tt := range tests {
		if col, err := NewCollector(tt.name, tt.src); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewCollector(%q, %T) = %v, %v; want ErrInvalidConfig", tt.name, tt.src, col, err)
		}
	}
}
