package redisnotify

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder keeps the callbacks' calls in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	fresh  int
	change chan struct{}
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.change <- struct{}{}:
	default:
	}
}

// wait blocks until cond holds over the events, or fails after a bound far
// above what it should take.
func (r *recorder) wait(t *testing.T, what string, cond func(events []string, fresh int) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.events, r.fresh)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.change:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%s: not seen within 10s; events %q, fresh %d", what, r.events, r.fresh)
		}
	}
}

func has(events []string, e string) bool {
	for _, x := range events {
		if x == e {
			return true
		}
	}
	return false
}

func TestRun(t *testing.T) {
	rd := testenv.NewRedis(t)
	channel := rd.Key("ch")
	rec := &recorder{change: make(chan struct{}, 1)}
	var syncs int
	cfg := Config{
		Channel: channel,
		Deliver: func(p string) { rec.add("msg " + p) },
		Sync: func(ctx context.Context) error {
			syncs++
			// Published while syncing: delivered after Sync returns.
			if err := rd.Client.Publish(ctx, channel, "during sync").Err(); err != nil {
				return err
			}
			rec.add("sync")
			return nil
		},
		Down:       func() { rec.add("down") },
		Heartbeat:  10 * time.Millisecond,
		Fresh:      func(time.Time) { rec.mu.Lock(); rec.fresh++; rec.mu.Unlock(); rec.add("") },
		MinBackoff: 5 * time.Millisecond,
		Logger:     slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// A client of its own, named, so that the test can find and kill its
	// connection without touching anyone else's.
	name := "redisnotify-test-" + testenv.RandomID(8)
	sub := redis.NewClient(&redis.Options{Addr: rd.Client.Options().Addr, ClientName: name})
	defer sub.Close()
	go func() { defer close(done); Run(ctx, sub, cfg) }()

	rec.wait(t, "sync then the message published during it", func(ev []string, _ int) bool {
		return len(ev) >= 2 && ev[0] == "sync" && has(ev, "msg during sync")
	})
	if err := rd.Client.Publish(context.Background(), channel, "after").Err(); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "message and answered pings", func(ev []string, fresh int) bool { return has(ev, "msg after") && fresh >= 2 })

	// Kill the subscription's connection: Down, then a new Sync.
	kill(t, rd.Client, name)
	rec.wait(t, "down and a second sync", func(ev []string, _ int) bool {
		i := -1
		for k, e := range ev {
			if e == "down" {
				i = k
				break
			}
		}
		return i >= 0 && has(ev[i:], "sync")
	})
	cancel()
	<-done
	if syncs < 2 {
		t.Fatalf("Sync ran %d times; want at least 2", syncs)
	}
}

// kill closes the connections of the clients named name.
func kill(t *testing.T, c *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id string
		named := false
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case k == "id":
				id = v
			case k == "name" && v == name:
				named = true
			}
		}
		if named && c.Do(ctx, "CLIENT", "KILL", "ID", id).Err() == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no connection named %q to kill", name)
	}
}

// TestRunSilentRedis: a Redis that accepts connections and never answers
// holds neither the subscription attempt past its bound nor Run past ctx.
func TestRunSilentRedis(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testenv.SilentAddr(t), MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer c.Close()
	attempts := make(chan struct{}, 16)
	logger := slog.New(&countHandler{ch: attempts})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, c, Config{Channel: "ch", Deliver: func(string) {}, SubscribeTimeout: 20 * time.Millisecond, MinBackoff: time.Millisecond, Logger: logger})
	}()
	for range 2 { // two failed attempts, each bounded by SubscribeTimeout
		select {
		case <-attempts:
		case <-time.After(10 * time.Second):
			t.Fatal("no failed attempt logged within 10s")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
}

// countHandler signals each record logged.
type countHandler struct{ ch chan struct{} }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.ch <- struct{}{}:
	default:
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }
