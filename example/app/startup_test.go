package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/pool"
	"github.com/covetgo/covet/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNewFailsWithOneLineAndNoPanic(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"weak admin password", map[string]string{"ADMIN_PASSWORD": "password"}, "ADMIN_PASSWORD"},
		{"data dir is a file", map[string]string{"DATA_DIR": "FILE"}, "DATA_DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(t)
			for k, v := range tc.env {
				env[k] = v
			}
			if env["DATA_DIR"] == "FILE" {
				f := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				env["DATA_DIR"] = f
			}
			cfg, err := LoadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			a, err := start(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				a.Close()
				t.Fatal("New succeeded")
			}
			if a != nil {
				t.Errorf("start returned a service with its error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("New error = %q; want one line starting with %s", msg, tc.want)
			}
		})
	}
	var a *service
	if err := a.Close(); err != nil {
		t.Errorf("nil service Close = %v", err)
	}
}

func TestDataDirCreatedWithPostgres(t *testing.T) {
	pg := testenv.NewPostgres(t)
	env := baseEnv(t)
	env["DATABASE_URL"] = pg.URL
	env["DATA_DIR"] = filepath.Join(t.TempDir(), "not", "yet")
	env["SEED_USERS"] = "0"
	s := startServer(t, env)
	if fi, err := os.Stat(env["DATA_DIR"]); err != nil || !fi.IsDir() {
		t.Fatalf("DATA_DIR not created with PostgreSQL: %v", err)
	}
	want(t, "GET /health", s.do("GET", "/health", "", "", nil), 200)
}

func TestRunWaitsForDatabaseThenExits(t *testing.T) {
	env := baseEnv(t)
	env["DATABASE_URL"] = "postgres://postgres@" + testenv.ClosedAddr(t) + "/test?sslmode=disable"
	env["DATABASE_CONNECT_TIMEOUT"] = "3s"
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Run(context.Background(), cfg, slog.New(slog.DiscardHandler), ln, nil) }()

	// While it retries, the process is alive but not ready.
	if code, body := get(t, base+"/health"); code != 200 {
		t.Errorf("/health while connecting = %d %s; want 200", code, body)
	}
	if code, body := get(t, base+"/ready"); code != 503 || !strings.Contains(body, "database") {
		t.Errorf("/ready while connecting = %d %s; want 503 naming the database", code, body)
	}
	if code, _ := get(t, base+"/api/v1/users"); code != 503 {
		t.Errorf("/api/v1/users while connecting = %d; want 503", code)
	}
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not give up")
	}
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("Run gave up after %v; want DATABASE_CONNECT_TIMEOUT (3s)", took)
	}
	if err == nil || !errors.Is(err, pool.ErrConnect) {
		t.Fatalf("Run = %v; want pool.ErrConnect", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "DATABASE_URL: ") || strings.Contains(msg, "\n") {
		t.Errorf("Run error = %q; want one line naming DATABASE_URL", msg)
	}
}

func TestRedisUnreachableAtStart(t *testing.T) {
	pg := testenv.NewPostgres(t)
	env := baseEnv(t)
	env["DATABASE_URL"] = pg.URL
	env["REDIS_URL"] = "redis://" + testenv.ClosedAddr(t) + "/0"
	env["SEED_USERS"] = "0"
	s := startServer(t, env)
	want(t, "GET /health", s.do("GET", "/health", "", "", nil), 200)
	r := s.do("GET", "/ready?verbose", "", "", nil)
	if r.status != 503 || !strings.Contains(string(r.body), "redis") {
		t.Fatalf("/ready with Redis down = %d %s; want 503 naming redis", r.status, r.body)
	}
	want(t, "GET /ready/database", s.do("GET", "/ready/database", "", "", nil), 200)
	if m := string(s.internal("/metrics").body); !strings.Contains(m, `health_check_status{check="redis",status="fail"} 1`) ||
		!strings.Contains(m, `health_check_status{check="database",status="pass"} 1`) {
		t.Errorf("/metrics lacks health_check_status for redis=fail and database=pass")
	}

	// Login with the right password: the lockout falls back to memory, the
	// refresh store fails closed: 503 with Retry-After, never 500. Wrong
	// passwords are still refused.
	for range 3 {
		start := time.Now()
		r = s.do("POST", "/auth/login", "", "198.51.100.9", map[string]string{"username": s.admin, "password": s.adminPW})
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Fatalf("login with Redis down = %d %s; want 503 with Retry-After", r.status, r.body)
		}
		// Generous bound for a loaded machine; the design bound is one
		// 250 ms call timeout, then none while the breaker is open.
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("login with Redis down took %v", took)
		}
	}
	want(t, "bad login with Redis down", s.do("POST", "/auth/login", "", "198.51.100.9",
		map[string]string{"username": s.admin, "password": "wrong password here"}), 401)
}
