package redisrdb

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/tool"

	"github.com/redis/go-redis/v9"
)

// redisSource is what [NewSource] returns.
type redisSource struct {
	url      string
	opt      *redis.Options
	cli      string
	rdbPath  string
	poll     time.Duration
	fallback bool
}

var _ backupkit.Source = (*redisSource)(nil)

// ErrInvalidConfig is backupkit's: errors.Is matches it under either name.
var ErrInvalidConfig = backupkit.ErrInvalidConfig

// Option configures [NewSource].
type Option func(*redisSource)

// WithRedisCLI runs redis-cli from path instead of $PATH.
func WithRedisCLI(path string) Option { return func(s *redisSource) { s.cli = path } }

// WithRDBPath names the RDB file the server writes on BGSAVE, for the
// fallback (NewSource fails when WithoutBGSAVEFallback is given too). By default it is asked from the server (CONFIG GET dir and
// dbfilename).
func WithRDBPath(path string) Option { return func(s *redisSource) { s.rdbPath = path } }

// WithoutBGSAVEFallback fails when redis-cli --rdb fails, instead of falling
// back to BGSAVE.
func WithoutBGSAVEFallback() Option { return func(s *redisSource) { s.fallback = false } }

// withBGSAVEPoll sets how often the fallback checks whether BGSAVE has
// finished (default 100ms); tests shorten it.
func withBGSAVEPoll(d time.Duration) Option { return func(s *redisSource) { s.poll = d } }

// NewSource returns a source for the Redis server at rawURL
// (redis://[user:password@]host:port[/db]).
//
// The source copies a Redis snapshot (RDB) with redis-cli --rdb, which asks
// the server for a replication stream (SYNC). Where the server refuses SYNC,
// as managed Redis often does, it falls back to BGSAVE and reads the RDB file
// the server wrote: that needs the server's data directory on this machine
// ([WithRDBPath], or the server's own CONFIG GET dir when allowed).
func NewSource(rawURL string, opts ...Option) (backupkit.Source, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url: %w", ErrInvalidConfig, err)
	}
	s := &redisSource{url: rawURL, opt: opt, cli: "redis-cli", poll: 100 * time.Millisecond, fallback: true}
	for _, o := range opts {
		o(s)
	}
	if s.poll <= 0 {
		return nil, fmt.Errorf("%w: BGSAVE poll interval must be positive", ErrInvalidConfig)
	}
	if !s.fallback && s.rdbPath != "" {
		return nil, fmt.Errorf("%w: WithRDBPath applies to the BGSAVE fallback, which WithoutBGSAVEFallback turns off", ErrInvalidConfig)
	}
	if s.cli == "" {
		return nil, fmt.Errorf("%w: WithRedisCLI: empty path", ErrInvalidConfig)
	}
	return s, nil
}

// cliArgs returns redis-cli's connection arguments and environment; the
// password goes in REDISCLI_AUTH, out of the process list.
func (s *redisSource) cliArgs() ([]string, []string) {
	env := os.Environ()
	u, err := url.Parse(s.url)
	if err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "REDISCLI_AUTH="+pw)
			u.User = url.User(u.User.Username())
			if u.User.Username() == "" {
				u.User = nil
			}
		}
		return []string{"-u", u.String()}, env
	}
	return []string{"-u", s.url}, env
}

// Backup implements [backupkit.Source].
func (s *redisSource) Backup(ctx context.Context, w io.Writer) (backupkit.SourceInfo, error) {
	info := backupkit.SourceInfo{Kind: "redis", Format: "rdb", Tool: "redis-cli", Database: fmt.Sprint(s.opt.DB)}
	info.ToolVersion = tool.Version(ctx, s.cli)
	c := redis.NewClient(s.opt)
	defer c.Close()
	if srv, err := c.InfoMap(ctx, "server").Result(); err == nil {
		info.ServerVersion = srv["Server"]["redis_version"]
	}
	cw := &countWriter{w: w}
	args, env := s.cliArgs()
	err := tool.Run(ctx, s.cli, append(args, "--rdb", "-"), env, nil, cw)
	if err == nil {
		return info, nil
	}
	if !s.fallback || cw.n > 0 || ctx.Err() != nil {
		return info, fmt.Errorf("%w: %w", backupkit.ErrSourceFailed, err)
	}
	info.Tool = "BGSAVE"
	if ferr := s.bgsave(ctx, c, w); ferr != nil {
		return info, fmt.Errorf("%w: redis-cli --rdb: %w; BGSAVE fallback: %w", backupkit.ErrSourceFailed, err, ferr)
	}
	return info, nil
}

func (s *redisSource) bgsave(ctx context.Context, c *redis.Client, w io.Writer) error {
	p := s.rdbPath
	if p == "" {
		dir, err := c.ConfigGet(ctx, "dir").Result()
		if err != nil {
			return fmt.Errorf("config get dir: %w", err)
		}
		file, err := c.ConfigGet(ctx, "dbfilename").Result()
		if err != nil {
			return fmt.Errorf("config get dbfilename: %w", err)
		}
		p = filepath.Join(dir["dir"], file["dbfilename"])
	}
	if err := s.waitSave(ctx, c); err != nil {
		return err
	}
	if err := c.BgSave(ctx).Err(); err != nil && !strings.Contains(err.Error(), "in progress") {
		return fmt.Errorf("bgsave: %w", err)
	}
	if err := s.waitSave(ctx, c); err != nil {
		return err
	}
	pers, err := c.InfoMap(ctx, "persistence").Result()
	if err != nil {
		return err
	}
	if st := pers["Persistence"]["rdb_last_bgsave_status"]; st != "ok" {
		return fmt.Errorf("bgsave status %q", st)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// waitSave waits until no background save is running.
func (s *redisSource) waitSave(ctx context.Context, c *redis.Client) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		pers, err := c.InfoMap(ctx, "persistence").Result()
		if err != nil {
			return err
		}
		if pers["Persistence"]["rdb_bgsave_in_progress"] == "0" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
