package app

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("LoadConfig(empty) = %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.RateLimit != "1000/minute" || c.LoginRateLimit != "5/minute" || c.SeedUsers != 1000 || c.Production() || c.forceHTTPS || !c.MigrateOnStart ||
		c.MaxInFlight != 256 || c.MaxInFlightBacklog != 256 || c.MaxInFlightWait != 100*time.Millisecond {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestMigrateOnStartDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"MIGRATE_ON_START": "false"}, false},
		{prodEnv(nil), false},
		{prodEnv(map[string]string{"MIGRATE_ON_START": "true"}), true},
	} {
		c, err := LoadConfig(func(k string) string { return tc.env[k] })
		if err != nil || c.MigrateOnStart != tc.want {
			t.Errorf("LoadConfig(%v).MigrateOnStart = %v, %v; want %v", tc.env, c != nil && c.MigrateOnStart, err, tc.want)
		}
	}
}

func TestDenylistMirrorDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"AUTH_DENYLIST_MIRROR": "false"}, false},
		{prodEnv(nil), true},
	} {
		c, err := LoadConfig(func(k string) string { return tc.env[k] })
		if err != nil || c.DenylistMirror != tc.want {
			t.Errorf("LoadConfig(%v).DenylistMirror = %v, %v; want %v", tc.env, c != nil && c.DenylistMirror, err, tc.want)
		}
	}
}

func TestCacheLocalDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"CACHE_LOCAL": "false"}, false},
		{prodEnv(nil), true},
	} {
		c, err := LoadConfig(func(k string) string { return tc.env[k] })
		if err != nil || c.CacheLocal != tc.want {
			t.Errorf("LoadConfig(%v).CacheLocal = %v, %v; want %v", tc.env, c != nil && c.CacheLocal, err, tc.want)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every variable the error must name
	}{
		{"production without secrets", map[string]string{"ENVIRONMENT": "production"},
			[]string{"SECRET_KEY", "ALLOWED_HOSTS", "ADMIN_PASSWORD"}},
		{"production wildcard CORS", map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 32), "ALLOWED_HOSTS": "api.example.com", "ADMIN_PASSWORD": "x", "CORS_ALLOW_ORIGINS": "*"},
			[]string{"CORS_ALLOW_ORIGINS"}},
		{"production without shared stores", prodEnv(map[string]string{"DATABASE_URL": "", "REDIS_URL": ""}),
			[]string{"DATABASE_URL", "REDIS_URL"}},
		{"production on SQLite", prodEnv(map[string]string{"DATABASE_URL": "sqlite:///data/covet.db"}),
			[]string{"DATABASE_URL: must be PostgreSQL"}},
		{"production without TLS", prodEnv(map[string]string{"DATABASE_URL": "postgres://app@db/app?sslmode=disable", "REDIS_URL": "redis://redis:6379", "REDIS_SECURITY_URL": "redis://sec:6379"}),
			[]string{"DATABASE_URL: production needs TLS", "REDIS_URL: production needs TLS", "REDIS_SECURITY_URL: production needs TLS"}},
		{"production prefer is not TLS", prodEnv(map[string]string{"DATABASE_URL": "postgres://app@db/app?sslmode=prefer"}),
			[]string{"DATABASE_URL: production needs TLS"}},
		{"both key forms", prodEnv(map[string]string{"SIGNING_KEYS": "k2:" + strings.Repeat("n", 32)}),
			[]string{"SIGNING_KEYS: set together with SECRET_KEY"}},
		{"bad signing keys", prodEnv(map[string]string{"SECRET_KEY": "", "SIGNING_KEYS": "k2:short,k1:" + strings.Repeat("o", 32)}),
			[]string{`SIGNING_KEYS: the secret of key "k2"`}},
		{"duplicate key ids", prodEnv(map[string]string{"SECRET_KEY": "", "SIGNING_KEYS": "k1:" + strings.Repeat("n", 32) + ",k1:" + strings.Repeat("o", 32)}),
			[]string{`SIGNING_KEYS: key id "k1" appears twice`}},
		{"secret and its file", prodEnv(map[string]string{"ADMIN_PASSWORD_FILE": "/nonexistent"}),
			[]string{"ADMIN_PASSWORD_FILE: set together with ADMIN_PASSWORD"}},
		{"missing secret file", prodEnv(map[string]string{"SECRET_KEY": "", "SECRET_KEY_FILE": "/nonexistent/secret"}),
			[]string{"SECRET_KEY_FILE: no such file"}},
		{"security redis alone", map[string]string{"REDIS_SECURITY_URL": "redis://x:6379"},
			[]string{"REDIS_SECURITY_URL: needs REDIS_URL"}},
		{"internal on the public address", map[string]string{"ADDR": "127.0.0.1:9000", "INTERNAL_ADDR": "127.0.0.1:9000"},
			[]string{"INTERNAL_ADDR"}},
		{"many bad values", map[string]string{
			"ENVIRONMENT": "staging", "ADDR": "nope", "SECRET_KEY": "short", "CORS_ALLOW_ORIGINS": "ftp://x",
			"TRUSTED_PROXIES": "10.0.0.0/33", "DATABASE_URL": "mysql://x", "REDIS_URL": "http://x", "LOG_LEVEL": "loud",
			"ADMIN_USERNAME": "a", "SEED_USERS": "-1", "DRAIN_DELAY": "forever", "RATE_LIMIT": "lots", "LOGIN_RATE_LIMIT": "5/fortnight",
			"DATABASE_POOL_SIZE": "zero", "FORCE_HTTPS": "maybe", "REDIS_TIMEOUT": "0s", "MIGRATE_ON_START": "sometimes",
			"MAX_IN_FLIGHT": "0", "MAX_IN_FLIGHT_BACKLOG": "-1", "MAX_IN_FLIGHT_WAIT": "1h", "DATABASE_QUERY_TIMEOUT": "soon",
			"RATE_LIMIT_LEASE": "-1",
		}, []string{"ENVIRONMENT", "ADDR", "SECRET_KEY", "CORS_ALLOW_ORIGINS", "TRUSTED_PROXIES", "DATABASE_URL", "REDIS_URL",
			"LOG_LEVEL", "ADMIN_USERNAME", "SEED_USERS", "DRAIN_DELAY", "RATE_LIMIT", "LOGIN_RATE_LIMIT", "DATABASE_POOL_SIZE", "FORCE_HTTPS", "REDIS_TIMEOUT", "MIGRATE_ON_START",
			"MAX_IN_FLIGHT:", "MAX_IN_FLIGHT_BACKLOG", "MAX_IN_FLIGHT_WAIT", "DATABASE_QUERY_TIMEOUT", "RATE_LIMIT_LEASE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(func(k string) string { return tt.env[k] })
			if !errors.Is(err, errConfig) {
				t.Fatalf("LoadConfig = %v; want an error matching ErrConfig", err)
			}
			for _, name := range tt.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name %s:\n%v", name, err)
				}
			}
		})
	}
}

func TestLoadConfigProduction(t *testing.T) {
	env := map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 32), "ALLOWED_HOSTS": "api.example.com",
		"ADMIN_PASSWORD": "x", "CORS_ALLOW_ORIGINS": "https://app.example.com", "TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
		"DATABASE_URL": "postgres://app@db:5432/app?sslmode=verify-full", "REDIS_URL": "rediss://redis:6379/0"}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.forceHTTPS || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Fatalf("config = %+v", c)
	}
}

// prodEnv is a valid production environment changed by over (an empty
// value unsets).
func prodEnv(over map[string]string) map[string]string {
	env := map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 32), "ALLOWED_HOSTS": "api.example.com",
		"ADMIN_PASSWORD": "correct horse battery staple", "DATABASE_URL": "postgres://app@db:5432/app?sslmode=verify-full",
		"REDIS_URL": "rediss://redis:6379/0"}
	for k, v := range over {
		env[k] = v
	}
	return env
}

func TestLoadConfigInsecureTransportOnPurpose(t *testing.T) {
	env := prodEnv(map[string]string{"DATABASE_URL": "postgres://app@db/app?sslmode=disable", "REDIS_URL": "redis://redis:6379", "ALLOW_INSECURE_TRANSPORT": "true"})
	if _, err := LoadConfig(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadConfig with ALLOW_INSECURE_TRANSPORT=true: %v", err)
	}
}

func TestLoadConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := prodEnv(map[string]string{
		"SECRET_KEY": "", "ADMIN_PASSWORD": "", "DATABASE_URL": "", "REDIS_URL": "",
		"SIGNING_KEYS_FILE":   write("keys", "k2:"+strings.Repeat("n", 32)+"\nk1:"+strings.Repeat("o", 32)+"\n"),
		"ADMIN_PASSWORD_FILE": write("pw", "from a file, with spaces\n"),
		"DATABASE_URL_FILE":   write("db", "postgres://app:s3cret@db/app?sslmode=verify-full\n"),
		"REDIS_URL_FILE":      write("redis", "rediss://:pw@redis:6379/0"),
		"S3_SECRET_KEY_FILE":  write("s3", "s3-secret\n"),
	})
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.AdminPassword != "from a file, with spaces" || c.DatabaseURL != "postgres://app:s3cret@db/app?sslmode=verify-full" ||
		c.RedisURL != "rediss://:pw@redis:6379/0" || c.getenv("S3_SECRET_KEY") != "s3-secret" {
		t.Errorf("values from files: admin %q, db %q, redis %q, s3 %q", c.AdminPassword, c.DatabaseURL, c.RedisURL, c.getenv("S3_SECRET_KEY"))
	}
	if len(c.SigningKeys) != 2 || c.SigningKeys[0].ID != "k2" || c.SigningKeys[1].ID != "k1" || string(c.SigningKeys[0].Secret) != strings.Repeat("n", 32) {
		t.Errorf("SigningKeys = %+v", c.SigningKeys)
	}
	// An empty file is a mistake, not an empty secret.
	env["ADMIN_PASSWORD_FILE"] = write("empty", "\n")
	if _, err := LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD_FILE: the file is empty") {
		t.Errorf("empty secret file: %v", err)
	}
}

func TestRecovererAnswersProblem(t *testing.T) {
	h := recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic answered %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("ErrAbortHandler was not re-raised: %v", v)
		}
	}()
	recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestValidateUser(t *testing.T) {
	ok := func(string) error { return nil }
	tests := []struct {
		in  newUser
		bad string
	}{
		{newUser{Username: "good_name", Email: "a@example.com"}, ""},
		{newUser{Username: "ab", Email: "a@example.com"}, "username"},
		{newUser{Username: strings.Repeat("a", 51), Email: "a@example.com"}, "username"},
		{newUser{Username: "good_name", Email: "Name <a@example.com>"}, "email"},
		{newUser{Username: "good_name", Email: "a@localhost"}, "email"},
		{newUser{Username: "good_name", Email: "a@example.com", Bio: strings.Repeat("é", 1001)}, "bio"},
	}
	for _, tt := range tests {
		got := tt.in.Validate(ok)
		if tt.bad == "" && len(got) > 0 || tt.bad != "" && (len(got) != 1 || got[0].Field != tt.bad) {
			t.Errorf("Validate(%+v) = %v; want a problem with %q", tt.in, got, tt.bad)
		}
	}
}

// TestNormalizeUsername: a username is checked as ASCII before any case
// mapping, so that no character Unicode case mapping or folding takes to
// ASCII passes for the letter it maps to.
func TestNormalizeUsername(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"admin", "admin", true},
		{"ADMIN", "admin", true},
		{"Case_User_42", "case_user_42", true},
		{"abc", "abc", true},
		{strings.Repeat("Z", 50), strings.Repeat("z", 50), true},
		{"\u212Aate", "", false},                      // KELVIN SIGN: strings.ToLower makes it k
		{"u\u017Fer_1", "", false},                    // LONG S: folds to s
		{"\u0131van", "", false},                      // DOTLESS I: upper case is I
		{"\u0130van", "", false},                      // I WITH DOT ABOVE: lower case is i + U+0307
		{"\uFF41dmin", "", false},                     // FULLWIDTH a
		{"\uFF21\uFF24\uFF2D\uFF29\uFF2E", "", false}, // FULLWIDTH ADMIN
		{"adm\uFF10", "", false},                      // FULLWIDTH DIGIT ZERO
		{"admi\u0301n", "", false},                    // COMBINING ACUTE ACCENT
		{"adme\u0308", "", false},                     // COMBINING DIAERESIS
		{"\u0430dmin", "", false},                     // CYRILLIC a
		{"\u00A0admin", "", false},                    // NO-BREAK SPACE: not trimmed
		{" admin", "", false},
		{"admin\n", "", false},
		{"ad", "", false},
		{strings.Repeat("a", 51), "", false},
		{"ad-min", "", false},
		{"ad\x00min", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeUsername(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if bad := (newUser{Username: tt.in, Email: "a@example.com"}).Validate(func(string) error { return nil }); (len(bad) == 0) != tt.ok {
			t.Errorf("Validate(username %q) = %v; want valid %v", tt.in, bad, tt.ok)
		}
	}
}
