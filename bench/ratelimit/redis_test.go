package ratelimitbench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	ulule "github.com/ulule/limiter/v3"
	ulredis "github.com/ulule/limiter/v3/drivers/store/redis"

	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/ratelimit/redisstore"
)

const (
	redisKeys = 1000
	// redisLimit is high enough that every decision is allowed, yet keeps
	// each library's state arithmetic exact, so every decision writes its
	// key as it would in production (with 1<<30 per second, redis_rate's
	// floating-point increment vanishes and it skips the write).
	redisLimit = 1_000_000
)

func redisClient(b *testing.B, hook redis.Hook) *redis.Client {
	b.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	if err := c.Ping(context.Background()).Err(); err != nil {
		b.Skipf("redis unavailable: %v", err)
	}
	if hook != nil {
		c.AddHook(hook)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// counter counts commands sent, pipelined or not.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

var redisKeyNames = func() []string {
	k := make([]string, redisKeys)
	for i := range k {
		k[i] = "bench-user-" + strconv.Itoa(i)
	}
	return k
}()

// scriptStats returns the calls and total microseconds Redis has spent in
// EVALSHA (INFO commandstats).
func scriptStats(b *testing.B, c *redis.Client) (calls, usec float64) {
	b.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
		if !ok {
			continue
		}
		for _, f := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				calls = n
			case "usec":
				usec = n
			}
		}
	}
	return calls, usec
}

// runRedis runs decide on 1000 keys in parallel and reports the commands
// sent per decision and the server time per script call (from INFO
// commandstats, which is independent of client-side load).
func runRedis(b *testing.B, c *redis.Client, cnt *counter, decide func(ctx context.Context, key string) error) {
	b.Helper()
	ctx := context.Background()
	for _, k := range redisKeyNames[:10] { // load scripts
		if err := decide(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	cnt.n.Store(0)
	calls0, usec0 := scriptStats(b, c)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := decide(ctx, redisKeyNames[next.Add(1)%redisKeys]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportCPU(b, c0)
	b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "cmds/op")
	if calls1, usec1 := scriptStats(b, c); calls1 > calls0 {
		b.ReportMetric((usec1-usec0)/(calls1-calls0), "redis-us/op")
	}
}

func BenchmarkRedis(b *testing.B) {
	covet := func(alg ratelimit.Algorithm) func(b *testing.B) {
		return func(b *testing.B) {
			cnt := &counter{}
			c := redisClient(b, cnt)
			s, err := redisstore.New(context.Background(), c, redisstore.WithKeyPrefix("bench-covet:"),
				redisstore.WithTimeout(10*time.Second)) // a loaded machine must not trip the outage path
			if err != nil {
				b.Fatal(err)
			}
			l, err := ratelimit.New(s, ratelimit.Rate{Limit: redisLimit, Period: time.Second}, ratelimit.WithAlgorithm(alg))
			if err != nil {
				b.Fatal(err)
			}
			runRedis(b, c, cnt, func(ctx context.Context, key string) error {
				d, err := l.Allow(ctx, key)
				if err == nil && (!d.Allowed || d.Degraded) {
					err = fmt.Errorf("unexpected decision %+v", d)
				}
				return err
			})
		}
	}
	// GCRA is compared with redis_rate (GCRA); the fixed window with ulule
	// (a fixed window).
	b.Run("covet", covet(ratelimit.GCRA))
	b.Run("covet-fixed", covet(ratelimit.FixedWindow))
	b.Run("redis_rate", func(b *testing.B) {
		cnt := &counter{}
		c := redisClient(b, cnt)
		l := redis_rate.NewLimiter(c)
		lim := redis_rate.PerSecond(redisLimit)
		runRedis(b, c, cnt, func(ctx context.Context, key string) error {
			_, err := l.Allow(ctx, key, lim)
			return err
		})
	})
	b.Run("ulule", func(b *testing.B) {
		cnt := &counter{}
		c := redisClient(b, cnt)
		store, err := ulredis.NewStoreWithOptions(c, ulule.StoreOptions{Prefix: "bench-ulule"})
		if err != nil {
			b.Fatal(err)
		}
		l := ulule.New(store, ulule.Rate{Period: time.Second, Limit: redisLimit})
		runRedis(b, c, cnt, func(ctx context.Context, key string) error {
			_, err := l.Get(ctx, key)
			return err
		})
	})
}
