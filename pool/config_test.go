package pool

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigFromLookup(t *testing.T) {
	const pg = "postgres://u:secret@db:5432/app"
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"url only", map[string]string{"DATABASE_URL": pg}, Config{URL: pg}},
		{"all", map[string]string{
			"DATABASE_URL": pg, "DATABASE_POOL_SIZE": "50", "DATABASE_MAX_OVERFLOW": "100",
			"DATABASE_POOL_TIMEOUT": "30", "DATABASE_POOL_RECYCLE": "1h", "DATABASE_MAX_IDLE_TIME": "-1",
			"DATABASE_CONNECT_TIMEOUT": "2.5", "DATABASE_STATEMENT_TIMEOUT": "0", "DATABASE_SSL_MODE": "require",
			"DATABASE_BUSY_TIMEOUT": "1s", "DATABASE_PRE_PING": "false", "DATABASE_CANCEL_TIMEOUT": "200ms",
		}, Config{URL: pg, PoolSize: 50, MaxOverflow: 100, PoolTimeout: 30 * time.Second, Recycle: time.Hour,
			MaxIdleTime: -1, ConnectTimeout: 2500 * time.Millisecond, SSLMode: "require", BusyTimeout: time.Second, SkipPrePing: true,
			CancelTimeout: 200 * time.Millisecond}},
		{"no overflow", map[string]string{"DATABASE_URL": "sqlite://x.db", "DATABASE_MAX_OVERFLOW": "0", "DATABASE_STATEMENT_TIMEOUT": "5s"},
			Config{URL: "sqlite://x.db", MaxOverflow: -1, StatementTimeout: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromLookup(lookupMap(tt.env))
			if err != nil || got != tt.want {
				t.Fatalf("ConfigFromLookup() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestConfigFromLookupNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": "mysql://u:hunter2@h/db", "DATABASE_POOL_SIZE": "0", "DATABASE_MAX_OVERFLOW": "x",
		"DATABASE_POOL_TIMEOUT": "-3s", "DATABASE_POOL_RECYCLE": "soon", "DATABASE_MAX_IDLE_TIME": "0",
		"DATABASE_CONNECT_TIMEOUT": "NaN", "DATABASE_STATEMENT_TIMEOUT": "-1", "DATABASE_SSL_MODE": "on",
		"DATABASE_BUSY_TIMEOUT": "1e300", "DATABASE_PRE_PING": "maybe",
	}
	_, err := ConfigFromLookup(lookupMap(env))
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v; want ErrInvalidConfig", err)
	}
	for name := range env {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the URL's password: %v", err)
	}
	if _, err := ConfigFromLookup(lookupMap(nil)); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("missing DATABASE_URL: err = %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite://env.db")
	t.Setenv("DATABASE_POOL_SIZE", "3")
	c, err := ConfigFromEnv()
	if err != nil || c.URL != "sqlite://env.db" || c.PoolSize != 3 {
		t.Fatalf("ConfigFromEnv() = %+v, %v", c, err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		ok   bool
	}{
		{"postgres", Config{URL: "postgres://h/db"}, true},
		{"postgresql", Config{URL: "postgresql://h/db"}, true},
		{"sqlite", Config{URL: "sqlite://a.db"}, true},
		{"file", Config{URL: "file:a.db"}, true},
		{"empty", Config{}, false},
		{"scheme", Config{URL: "mysql://h/db"}, false},
		{"no scheme", Config{URL: "h/db"}, false},
		{"pool size", Config{URL: "file:a.db", PoolSize: -1}, false},
		{"connect", Config{URL: "file:a.db", ConnectTimeout: -1}, false},
		{"statement", Config{URL: "file:a.db", StatementTimeout: -1}, false},
		{"busy", Config{URL: "file:a.db", BusyTimeout: -1}, false},
		{"cancel", Config{URL: "postgres://h/db", CancelTimeout: -1}, false},
		{"ssl", Config{URL: "postgres://h/db", SSLMode: "yes"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Fatalf("Validate(%+v) = %v; want ok=%v", tt.c, err, tt.ok)
			}
		})
	}
}

func TestMaxOpen(t *testing.T) {
	tests := []struct {
		c    Config
		want int
	}{
		{Config{}, DefaultPoolSize + DefaultMaxOverflow},
		{Config{PoolSize: 50, MaxOverflow: 100}, 150},
		{Config{PoolSize: 5, MaxOverflow: -1}, 5},
	}
	for _, tt := range tests {
		if got := tt.c.MaxOpen(); got != tt.want {
			t.Errorf("MaxOpen(%+v) = %d; want %d", tt.c, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true}, {"0.5", 500 * time.Millisecond, true}, {"1m", time.Minute, true},
		{"x", 0, false}, {"Inf", 0, false}, {"NaN", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzConfigFromLookup: any environment gives a valid Config or an error
// matching ErrInvalidConfig, and no error repeats the URL's password.
func FuzzConfigFromLookup(f *testing.F) {
	f.Add("postgres://u:hunter2@h/db", "10", "30s", "require")
	f.Add("sqlite://a.db", "x", "-1", "")
	f.Add("mysql://u:hunter2@h", "0", "NaN", "on")
	f.Fuzz(func(t *testing.T, url, size, dur, ssl string) {
		env := map[string]string{
			"DATABASE_URL": url, "DATABASE_POOL_SIZE": size, "DATABASE_POOL_TIMEOUT": dur,
			"DATABASE_POOL_RECYCLE": dur, "DATABASE_STATEMENT_TIMEOUT": dur, "DATABASE_SSL_MODE": ssl,
		}
		c, err := ConfigFromLookup(lookupMap(env))
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
			if strings.Contains(url, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("ConfigFromLookup accepted %+v, which Validate rejects: %v", c, verr)
		}
		if c.PoolSize < 1 || c.PoolTimeout <= 0 || c.StatementTimeout < 0 {
			t.Fatalf("out-of-range Config %+v", c)
		}
	})
}
