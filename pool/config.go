package pool

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultPoolSize       = 10
	DefaultMaxOverflow    = 10
	DefaultPoolTimeout    = 30 * time.Second
	DefaultRecycle        = time.Hour
	DefaultMaxIdleTime    = 10 * time.Minute
	DefaultConnectTimeout = 30 * time.Second
	DefaultBusyTimeout    = 5 * time.Second
	DefaultCancelTimeout  = time.Second
)

// ErrInvalidConfig is matched (errors.Is) by every configuration error from
// Open, Config.Validate and ConfigFromEnv.
var ErrInvalidConfig = errors.New("pool: invalid configuration")

// Config describes a database pool. Its zero value, with URL set, means the
// defaults above. Durations and MaxOverflow use a negative value for "none":
// MaxOverflow < 0 opens no connection beyond PoolSize, Recycle < 0 and
// MaxIdleTime < 0 never close a connection for age or idleness, PoolTimeout
// < 0 waits for the caller's context only.
type Config struct {
	// URL is postgres:// or postgresql://, or a URL whose scheme a driver
	// package registered (see [Driver]). Required.
	URL string
	// PoolSize is the number of idle connections kept open. Default 10.
	PoolSize int
	// MaxOverflow is the number of extra connections allowed under load;
	// the pool opens at most PoolSize+MaxOverflow. Default 10.
	MaxOverflow int
	// PoolTimeout bounds the wait for a connection in Conn and InTx
	// (see the package documentation). Default 30s.
	PoolTimeout time.Duration
	// Recycle is the maximum lifetime of a connection. Default 1h.
	Recycle time.Duration
	// MaxIdleTime closes connections idle for longer. Default 10m.
	MaxIdleTime time.Duration
	// ConnectTimeout bounds each dial and the whole pre-ping at Open,
	// retries included. Default 30s.
	ConnectTimeout time.Duration
	// StatementTimeout is PostgreSQL's statement_timeout for every session;
	// zero keeps the server's setting. PostgreSQL only: Open fails when it is set
	// for SQLite.
	StatementTimeout time.Duration
	// CancelTimeout is how long a PostgreSQL statement whose context is done
	// may take to stop: the server is asked at once to cancel it, and the
	// connection is closed (and the call returns) if the server has not
	// answered within CancelTimeout, as happens when it is unreachable.
	// Default 1s. PostgreSQL only: Open fails when it is set for SQLite.
	CancelTimeout time.Duration
	// SSLMode overrides the URL's sslmode (disable, allow, prefer, require,
	// verify-ca, verify-full); empty keeps the URL's. PostgreSQL only: Open
	// fails when it is set for SQLite.
	SSLMode string
	// BusyTimeout is how long SQLite (package pool/sqlite) waits for a
	// lock. Default 5s. SQLite only: Open fails when it is set for
	// PostgreSQL.
	BusyTimeout time.Duration
	// SkipPrePing makes Open return without checking the database answers.
	SkipPrePing bool
	// QueryTracer receives pgx's events for every query, connect and
	// transaction (otelpgx.NewTracer() turns them into OpenTelemetry
	// spans, children of the span in each call's context). Nil: none.
	// PostgreSQL only: Open fails when it is set for SQLite.
	QueryTracer pgx.QueryTracer
}

var sslModes = map[string]bool{
	"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true,
}

// Validate reports every problem with c in one error matching
// ErrInvalidConfig. It never echoes the URL, which may hold a password.
func (c Config) Validate() error {
	var errs []error
	if _, err := driverFor(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("%w: PoolSize %d is negative", ErrInvalidConfig, c.PoolSize))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: ConnectTimeout %s is negative", ErrInvalidConfig, c.ConnectTimeout))
	}
	if c.StatementTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: StatementTimeout %s is negative", ErrInvalidConfig, c.StatementTimeout))
	}
	if c.CancelTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: CancelTimeout %s is negative", ErrInvalidConfig, c.CancelTimeout))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: BusyTimeout %s is negative", ErrInvalidConfig, c.BusyTimeout))
	}
	if c.SSLMode != "" && !sslModes[c.SSLMode] {
		errs = append(errs, fmt.Errorf("%w: SSLMode %q is not one of disable, allow, prefer, require, verify-ca, verify-full", ErrInvalidConfig, c.SSLMode))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxOverflow == 0 {
		c.MaxOverflow = DefaultMaxOverflow
	}
	if c.PoolTimeout == 0 {
		c.PoolTimeout = DefaultPoolTimeout
	}
	if c.Recycle == 0 {
		c.Recycle = DefaultRecycle
	}
	if c.MaxIdleTime == 0 {
		c.MaxIdleTime = DefaultMaxIdleTime
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.CancelTimeout == 0 {
		c.CancelTimeout = DefaultCancelTimeout
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = DefaultBusyTimeout
	}
	return c
}

// MaxOpen is the largest number of connections the pool opens:
// PoolSize+MaxOverflow after defaults.
func (c Config) MaxOpen() int {
	d := c.withDefaults()
	if d.MaxOverflow < 0 {
		return d.PoolSize
	}
	return d.PoolSize + d.MaxOverflow
}

// ConfigFromEnv reads a Config from the process environment; see
// ConfigFromLookup for the variables.
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.LookupEnv) }

// ConfigFromLookup reads a Config through lookup (os.LookupEnv, or a map in
// tests). Variables, all optional but DATABASE_URL:
//
//	DATABASE_URL                database URL (required)
//	DATABASE_POOL_SIZE          integer ≥ 1
//	DATABASE_MAX_OVERFLOW       integer ≥ 0 (0: none)
//	DATABASE_POOL_TIMEOUT       duration
//	DATABASE_POOL_RECYCLE       duration, or -1 for never
//	DATABASE_MAX_IDLE_TIME      duration, or -1 for never
//	DATABASE_CONNECT_TIMEOUT    duration
//	DATABASE_STATEMENT_TIMEOUT  duration (0: server default)
//	DATABASE_CANCEL_TIMEOUT     duration
//	DATABASE_SSL_MODE           disable|allow|prefer|require|verify-ca|verify-full
//	DATABASE_BUSY_TIMEOUT       duration (SQLite)
//	DATABASE_PRE_PING           boolean (default true)
//
// A duration is a Go duration ("30s", "1h") or a number of seconds ("30").
// The error joins one error per bad variable, each naming it and matching
// ErrInvalidConfig; DATABASE_URL's value is never echoed.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	e := envReader{lookup: lookup}
	e.url(&c)
	e.sizes(&c)
	e.durations(&c)
	e.connection(&c)
	if err := errors.Join(e.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// envReader reads the variables of [ConfigFromLookup], collecting one error
// per bad variable.
type envReader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (e *envReader) bad(name, val, want string) {
	e.errs = append(e.errs, fmt.Errorf("%w: %s=%q: %s", ErrInvalidConfig, name, val, want))
}

// url reads DATABASE_URL, which is required and never echoed.
func (e *envReader) url(c *Config) {
	if v, ok := e.lookup("DATABASE_URL"); !ok || v == "" {
		e.errs = append(e.errs, fmt.Errorf("%w: DATABASE_URL is not set", ErrInvalidConfig))
	} else if _, err := driverFor(v); err != nil {
		e.errs = append(e.errs, fmt.Errorf("DATABASE_URL: %w", err))
	} else {
		c.URL = v
	}
}

// sizes reads DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW.
func (e *envReader) sizes(c *Config) {
	if v, ok := e.lookup("DATABASE_POOL_SIZE"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			e.bad("DATABASE_POOL_SIZE", v, "want an integer ≥ 1")
		} else {
			c.PoolSize = n
		}
	}
	if v, ok := e.lookup("DATABASE_MAX_OVERFLOW"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil || n < 0:
			e.bad("DATABASE_MAX_OVERFLOW", v, "want an integer ≥ 0")
		case n == 0:
			c.MaxOverflow = -1
		default:
			c.MaxOverflow = n
		}
	}
}

// durations reads the timeouts and lifetimes.
func (e *envReader) durations(c *Config) {
	durations := []struct {
		name  string
		dst   *time.Duration
		never bool // -1 means "never" (stored as negative)
		zero  bool // 0 is allowed and kept
	}{
		{"DATABASE_POOL_TIMEOUT", &c.PoolTimeout, false, false},
		{"DATABASE_POOL_RECYCLE", &c.Recycle, true, false},
		{"DATABASE_MAX_IDLE_TIME", &c.MaxIdleTime, true, false},
		{"DATABASE_CONNECT_TIMEOUT", &c.ConnectTimeout, false, false},
		{"DATABASE_STATEMENT_TIMEOUT", &c.StatementTimeout, false, true},
		{"DATABASE_CANCEL_TIMEOUT", &c.CancelTimeout, false, false},
		{"DATABASE_BUSY_TIMEOUT", &c.BusyTimeout, false, false},
	}
	for _, d := range durations {
		v, ok := e.lookup(d.name)
		if !ok {
			continue
		}
		s := strings.TrimSpace(v)
		if d.never && s == "-1" {
			*d.dst = -1
			continue
		}
		dur, err := parseDuration(s)
		switch {
		case err != nil || dur < 0 || (dur == 0 && !d.zero):
			want := "want a positive duration (\"30s\") or number of seconds"
			if d.never {
				want += ", or -1 for never"
			}
			if d.zero {
				want = "want a duration (\"30s\") or number of seconds, 0 for none"
			}
			e.bad(d.name, v, want)
		default:
			*d.dst = dur
		}
	}
}

// connection reads DATABASE_SSL_MODE and DATABASE_PRE_PING.
func (e *envReader) connection(c *Config) {
	if v, ok := e.lookup("DATABASE_SSL_MODE"); ok {
		s := strings.TrimSpace(v)
		if !sslModes[s] {
			e.bad("DATABASE_SSL_MODE", v, "want disable, allow, prefer, require, verify-ca or verify-full")
		} else {
			c.SSLMode = s
		}
	}
	if v, ok := e.lookup("DATABASE_PRE_PING"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			e.bad("DATABASE_PRE_PING", v, "want true or false")
		} else {
			c.SkipPrePing = !b
		}
	}
}

// parseDuration accepts a Go duration or a plain number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f != f || f > float64(1<<62)/float64(time.Second) || f < -float64(1<<62)/float64(time.Second) {
			return 0, errors.New("out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
