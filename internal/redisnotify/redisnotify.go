// Package redisnotify keeps one Redis pub/sub subscription up for a
// process-local mirror of state kept in Redis: it subscribes with a bounded
// connect, lets the caller reload its mirror after every (re)subscription
// before any message is delivered, tells it when the subscription is lost,
// retries with a backoff, and pings on the subscription so that the caller
// knows how fresh its mirror is even when a connection dies silently.
//
// The freshness proof: Redis answers a PING on a subscribed connection in
// order with the messages it pushes there, so once the answer to a ping sent
// at t arrives, every message published on that node before t has been
// delivered. On Redis Cluster a message published on another node crosses
// the cluster bus first, which adds its delay.
package redisnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/redisdeadline"
)

// Defaults of [Config], used where a field is zero.
const (
	// DefaultSubscribeTimeout bounds connecting, subscribing and the
	// confirmation, so that a frozen Redis cannot hold [Run], or the Close
	// of its owner, for the client's read timeout.
	DefaultSubscribeTimeout = time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between
	// attempts, doubled after each failure.
	DefaultMinBackoff = 50 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// deadPings is how many heartbeat periods may pass without an answer before
// the subscription is closed and made again.
const deadPings = 4

var (
	errResubscribed = errors.New("subscription confirmed again: messages may have been lost")
	errUnexpected   = errors.New("unexpected reply to SUBSCRIBE")
	errAbandoned    = errors.New("subscribing took too long: attempt abandoned")
)

// Config says what to subscribe to and whom to tell. Channel and Deliver
// are required; every other field may be zero.
type Config struct {
	// Channel is the pub/sub channel.
	Channel string
	// Deliver receives each message's payload, in the order Redis sent them.
	Deliver func(payload string)
	// Sync runs after each (re)subscription is confirmed and before any
	// message is delivered: messages published while unsubscribed are lost,
	// so the caller reloads what it mirrors. A message published after the
	// confirmation is delivered after Sync returns, even when Sync has read
	// its effect already. An error counts as a failed attempt (logged,
	// retried after the backoff); on success the subscription is up.
	Sync func(ctx context.Context) error
	// Down is called when a subscription that was up is lost: messages may
	// be lost from now until the next Sync.
	Down func()
	// Heartbeat, when positive, is how often a PING is sent on the
	// subscription. Fresh is then called with the time each was sent, once
	// answered; after four periods without an answer the subscription is
	// closed and made again.
	Heartbeat time.Duration
	// Fresh receives the send time of each answered ping (see the package
	// overview).
	Fresh func(sent time.Time)
	// SubscribeTimeout, MinBackoff and MaxBackoff default to the constants
	// of the same names.
	SubscribeTimeout       time.Duration
	MinBackoff, MaxBackoff time.Duration
	// Logger receives a warning for each failed attempt or lost
	// subscription (default slog.Default()); Name starts its messages.
	Logger *slog.Logger
	Name   string
}

// Run keeps the subscription up until ctx ends. Every callback runs on the
// calling goroutine, one at a time, so the caller's mirror needs no lock
// between them (it still needs one against its readers). The heartbeat runs
// on a second goroutine, started and stopped with each subscription.
//
// Run returns soon after ctx ends: a blocked read is ended by closing the
// subscription, and an attempt to subscribe that hangs is abandoned after
// SubscribeTimeout (see subscribe). Only a Sync that ignores its context
// can hold it longer.
func Run(ctx context.Context, c redis.UniversalClient, cfg Config) {
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(cfg.MinBackoff, DefaultMaxBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name = "redisnotify"
	}
	nop := func() {}
	if cfg.Down == nil {
		cfg.Down = nop
	}
	if cfg.Sync == nil {
		cfg.Sync = func(context.Context) error { return nil }
	}
	if cfg.Fresh == nil {
		cfg.Fresh = func(time.Time) {}
	}
	backoff := cfg.MinBackoff
	for ctx.Err() == nil {
		if once(ctx, c, &cfg) {
			backoff = cfg.MinBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, cfg.MaxBackoff)
	}
}

// once subscribes, syncs and delivers until the subscription fails or ctx
// ends; it reports whether the subscription was up.
func once(ctx context.Context, c redis.UniversalClient, cfg *Config) (up bool) {
	ps := c.Subscribe(ctx) // no channel yet: no network call
	// A blocked Receive does not watch its context; closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	abandoned := false
	defer func() {
		stop()
		if !abandoned { // else the attempt closes it when it ends
			_ = ps.Close()
		}
	}()
	err := subscribe(ctx, ps, cfg, redisdeadline.HonoursContext(c))
	if errors.Is(err, errAbandoned) {
		abandoned = true
	}
	if err == nil {
		err = cfg.Sync(ctx)
	}
	if err != nil {
		if ctx.Err() == nil {
			cfg.Logger.WarnContext(ctx, cfg.Name+": subscription failed", "channel", cfg.Channel, "err", err)
		}
		return false
	}
	epoch := time.Now()
	var answered atomic.Int64 // send time of the latest answered ping, since epoch
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	if cfg.Heartbeat > 0 {
		go heartbeat(ctx, ps, cfg.Heartbeat, epoch, &answered, hbStop, hbDone)
	} else {
		close(hbDone)
	}
	for err == nil {
		var msg any
		if msg, err = ps.Receive(ctx); err != nil {
			break
		}
		switch m := msg.(type) {
		case *redis.Message:
			cfg.Deliver(m.Payload)
		case *redis.Pong:
			if ns, perr := strconv.ParseInt(m.Payload, 10, 64); perr == nil && ns > answered.Load() {
				answered.Store(ns)
				cfg.Fresh(epoch.Add(time.Duration(ns)))
			}
		case *redis.Subscription:
			// go-redis reconnected and subscribed again by itself:
			// messages may have been lost in between. Start afresh.
			if m.Kind == "subscribe" {
				err = errResubscribed
			}
		}
	}
	cfg.Down()
	close(hbStop)
	_ = ps.Close()
	<-hbDone
	if ctx.Err() == nil {
		cfg.Logger.WarnContext(ctx, cfg.Name+": subscription lost", "channel", cfg.Channel, "err", err)
	}
	return true
}

// subscribe sends SUBSCRIBE and waits for its confirmation, within the
// subscribe timeout. A client that does not honour context deadlines waits
// for its own dial and read timeouts while it connects (go-redis sends
// HELLO under its read timeout), so with such a client the attempt runs on
// a goroutine of its own, abandoned at the timeout: it then finishes on its
// own at the client's timeouts and closes ps, and subscribe returns an
// error wrapping errAbandoned (the way internal/redisdeadline bounds calls).
func subscribe(ctx context.Context, ps *redis.PubSub, cfg *Config, aware bool) error {
	sctx, cancel := context.WithTimeout(ctx, cfg.SubscribeTimeout)
	defer cancel()
	if aware {
		return subscribeNow(sctx, ps, cfg)
	}
	var (
		mu                  sync.Mutex
		finished, abandoned bool
	)
	ch := make(chan error, 1)
	go func() {
		err := subscribeNow(sctx, ps, cfg)
		mu.Lock()
		finished = true
		gone := abandoned
		mu.Unlock()
		if gone {
			_ = ps.Close()
			return
		}
		ch <- err
	}()
	select {
	case err := <-ch:
		return err
	case <-sctx.Done():
	}
	mu.Lock()
	if finished {
		mu.Unlock()
		return <-ch
	}
	abandoned = true
	mu.Unlock()
	return fmt.Errorf("%w: %w", errAbandoned, sctx.Err())
}

func subscribeNow(ctx context.Context, ps *redis.PubSub, cfg *Config) error {
	if err := ps.Subscribe(ctx, cfg.Channel); err != nil {
		return err
	}
	msg, err := ps.ReceiveTimeout(ctx, cfg.SubscribeTimeout)
	if err != nil {
		return err
	}
	if m, ok := msg.(*redis.Subscription); !ok || m.Kind != "subscribe" {
		return errUnexpected
	}
	return nil
}

// heartbeat pings every period with the time since epoch as payload, and
// closes the subscription when no ping has been answered for deadPings
// periods.
func heartbeat(ctx context.Context, ps *redis.PubSub, every time.Duration, epoch time.Time, answered *atomic.Int64, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Since(epoch)
		if now-time.Duration(answered.Load()) > deadPings*every {
			_ = ps.Close()
			return
		}
		if err := ps.Ping(ctx, strconv.FormatInt(int64(now), 10)); err != nil {
			_ = ps.Close()
			return
		}
	}
}
