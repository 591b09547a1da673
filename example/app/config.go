package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/pool"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/ratelimit"
)

// Config is the service's whole configuration. It is read only from the
// environment (LoadConfig); the zero value is not useful.
type Config struct {
	Environment  string // development | production
	Addr         string
	InternalAddr string // metrics, system figures and pprof; loopback by default
	AppName      string
	AppVersion   string
	SecretKey    []byte // nil: a random key is generated (development only)
	// SigningKeys are the JWT keys, newest first: the first signs, all
	// verify (SIGNING_KEYS, or SECRET_KEY as the single key "k1").
	SigningKeys      []signingKey
	AllowedHosts     []string
	CORSAllowOrigins []string
	TrustedProxies   []netip.Prefix
	DatabaseURL      string // empty: SQLite under DataDir
	RedisURL         string // empty: in-memory stores; one node, Cluster or Sentinel (redis.go)
	// RedisSecurityURL, when set, holds the security state (refresh tokens,
	// denylist, lockouts, rate limits) apart from the cache.
	RedisSecurityURL string
	// AllowInsecureTransport lets production talk to PostgreSQL and Redis
	// without TLS (ALLOW_INSECURE_TRANSPORT=true, on purpose only).
	AllowInsecureTransport bool
	RateLimit              string
	LoginRateLimit         string
	LogLevel               slog.Level
	AdminUsername          string
	AdminPassword          string // empty: a random password is generated and logged once
	SeedUsers              int
	DrainDelay             time.Duration
	// RedisTimeout bounds each Redis call made while answering a request
	// (rate limits, the user list's version; the lockout takes at least
	// lockoutTimeout). Past it the failure policies decide.
	RedisTimeout time.Duration
	// DatabaseQueryTimeout bounds the database work of one request, from
	// waiting for a connection to the last row of a lookup, and an export's
	// wait for its first row (DATABASE_QUERY_TIMEOUT, default 2s). Past it
	// the request gets 503 with Retry-After, so a database that accepts
	// connections and never answers cannot hold requests.
	DatabaseQueryTimeout time.Duration
	// MaxInFlight bounds the requests served at once (probes aside);
	// MaxInFlightBacklog more wait at most MaxInFlightWait for a slot, the
	// rest get 503 with Retry-After at once.
	MaxInFlight        int
	MaxInFlightBacklog int
	MaxInFlightWait    time.Duration
	DataDir            string
	BackupTarget       string // a directory or s3://bucket/prefix
	// TLSWatchAddr, when set, is the public host:port whose certificate
	// the readiness checks watch; TLSWatchWarn how long before its expiry
	// the check warns.
	TLSWatchAddr string
	TLSWatchWarn time.Duration
	SentryDSN    string // empty: failures are not reported to Sentry

	// TracerProvider, when set (by tests or a program embedding the
	// service), replaces the one built from the OTEL_* environment.
	TracerProvider trace.TracerProvider
	// MigrateOnStart applies pending migrations when the service starts
	// (MIGRATE_ON_START; default true in development, false in production,
	// where a job runs `example migrate up` before the rollout).
	MigrateOnStart bool

	forceHTTPS       bool                // FORCE_HTTPS, default on in production
	redisPolicyCheck bool                // REDIS_POLICY_CHECK, default on in production
	getenv           func(string) string // where the configuration was read from
}

// env reads the environment the configuration was loaded from.
func (c *Config) env(k string) string {
	if c.getenv != nil {
		return c.getenv(k)
	}
	return os.Getenv(k)
}

// Production reports whether ENVIRONMENT=production.
func (c *Config) Production() bool { return c.Environment == "production" }

// ConfigError lists every invalid variable.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// LoadConfig reads the configuration from getenv (os.Getenv when nil) and
// validates all of it, returning one *ConfigError that names every bad
// variable.
func LoadConfig(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	getenv = withFiles(getenv, bad)
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	list := func(name string) []string {
		var out []string
		for _, p := range strings.Split(getenv(name), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	c := &Config{
		Environment:      strings.ToLower(get("ENVIRONMENT", "development")),
		Addr:             get("ADDR", "127.0.0.1:8080"),
		InternalAddr:     get("INTERNAL_ADDR", "127.0.0.1:8081"),
		AppName:          get("APP_NAME", "covet-example"),
		AppVersion:       get("APP_VERSION", "dev"),
		AllowedHosts:     list("ALLOWED_HOSTS"),
		CORSAllowOrigins: list("CORS_ALLOW_ORIGINS"),
		DatabaseURL:      get("DATABASE_URL", ""),
		RedisURL:         get("REDIS_URL", ""),
		RedisSecurityURL: get("REDIS_SECURITY_URL", ""),
		RateLimit:        get("RATE_LIMIT", "1000/minute"),
		LoginRateLimit:   get("LOGIN_RATE_LIMIT", "5/minute"),
		AdminUsername:    NormalizeUsername(get("ADMIN_USERNAME", "admin")),
		AdminPassword:    getenv("ADMIN_PASSWORD"),
		DataDir:          get("DATA_DIR", "data"),
		BackupTarget:     get("BACKUP_TARGET", ""),
	}
	switch c.Environment {
	case "development", "production":
	default:
		bad("ENVIRONMENT", "%q is not development or production", c.Environment)
	}
	if _, _, err := splitHostPort(c.Addr); err != nil {
		bad("ADDR", "%v", err)
	}
	if _, _, err := splitHostPort(c.InternalAddr); err != nil {
		bad("INTERNAL_ADDR", "%v", err)
	} else if c.InternalAddr == c.Addr {
		bad("INTERNAL_ADDR", "must differ from ADDR: the internal endpoints are never public")
	}
	switch k, ks := getenv("SECRET_KEY"), getenv("SIGNING_KEYS"); {
	case k != "" && ks != "":
		bad("SIGNING_KEYS", "set together with SECRET_KEY; set only one")
	case ks != "":
		keys, err := parseSigningKeys(ks)
		if err != nil {
			bad("SIGNING_KEYS", "%v", err)
		}
		c.SigningKeys = keys
	case k != "":
		if len(k) < 32 {
			bad("SECRET_KEY", "must be at least 32 bytes, got %d", len(k))
		}
		c.SecretKey = []byte(k)
		c.SigningKeys = []signingKey{{ID: "k1", Secret: c.SecretKey}}
	case c.Production():
		bad("SECRET_KEY", "required in production (at least 32 random bytes), or SIGNING_KEYS")
	}
	if c.Production() && len(c.AllowedHosts) == 0 {
		bad("ALLOWED_HOSTS", "required in production (comma-separated host names)")
	}
	for _, h := range c.AllowedHosts {
		if strings.ContainsAny(h, "/ @") {
			bad("ALLOWED_HOSTS", "%q is not a host name", h)
		}
	}
	for _, o := range c.CORSAllowOrigins {
		if o == "*" {
			if c.Production() {
				bad("CORS_ALLOW_ORIGINS", "a wildcard is refused in production: the API uses credentials")
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("CORS_ALLOW_ORIGINS", "%q is not an origin like https://app.example.com", o)
		}
	}
	for _, p := range list("TRUSTED_PROXIES") {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, err2 := netip.ParseAddr(p)
			if err2 != nil {
				bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite" && u.Scheme != "file") {
			bad("DATABASE_URL", "must be a postgres://, sqlite:// or file: URL")
		}
	}
	if c.RedisURL != "" {
		if _, err := parseRedisURL(c.RedisURL); err != nil {
			bad("REDIS_URL", "%v", err)
		}
	}
	if c.RedisSecurityURL != "" {
		if _, err := parseRedisURL(c.RedisSecurityURL); err != nil {
			bad("REDIS_SECURITY_URL", "%v", err)
		}
		if c.RedisURL == "" {
			bad("REDIS_SECURITY_URL", "needs REDIS_URL too")
		}
	}
	if v := getenv("ALLOW_INSECURE_TRANSPORT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("ALLOW_INSECURE_TRANSPORT", "%q is not true or false", v)
		}
		c.AllowInsecureTransport = b
	}
	// Production runs replicas: each would otherwise have its own SQLite
	// database and its own limits, lockouts and refresh tokens.
	if c.Production() {
		if c.DatabaseURL == "" {
			bad("DATABASE_URL", "required in production (postgres://…): replicas must share one database")
		} else if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
			bad("DATABASE_URL", "must be PostgreSQL in production: SQLite is one file on one pod")
		} else if !c.AllowInsecureTransport && !postgresTLS(c.DatabaseURL) {
			bad("DATABASE_URL", "production needs TLS to PostgreSQL: sslmode=verify-full (or require); ALLOW_INSECURE_TRANSPORT=true to accept plain TCP on a trusted network")
		}
		if c.RedisURL == "" {
			bad("REDIS_URL", "required in production: replicas must share limits, lockouts and refresh tokens")
		}
		for _, name := range []string{"REDIS_URL", "REDIS_SECURITY_URL"} {
			v := c.RedisURL
			if name == "REDIS_SECURITY_URL" {
				v = c.RedisSecurityURL
			}
			if v != "" && !c.AllowInsecureTransport && !strings.HasPrefix(v, "rediss://") {
				bad(name, "production needs TLS to Redis: use rediss://; ALLOW_INSECURE_TRANSPORT=true to accept plain TCP on a trusted network")
			}
		}
	}
	switch lv := strings.ToLower(get("LOG_LEVEL", "info")); lv {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		bad("LOG_LEVEL", "%q is not debug, info, warn or error", lv)
	}
	if !validUsername(c.AdminUsername) {
		bad("ADMIN_USERNAME", "3-50 letters, digits or underscores")
	}
	if c.Production() && c.AdminPassword == "" {
		bad("ADMIN_PASSWORD", "required in production")
	}
	c.SeedUsers = 1000
	if v := getenv("SEED_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10_000_000 {
			bad("SEED_USERS", "%q is not a whole number from 0 to 10000000", v)
		}
		c.SeedUsers = n
	}
	c.RedisTimeout = 50 * time.Millisecond
	if v := getenv("REDIS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 10*time.Second {
			bad("REDIS_TIMEOUT", "%q is not a duration from 1ms to 10s", v)
		}
		c.RedisTimeout = d
	}
	c.DatabaseQueryTimeout = 2 * time.Second
	if v := getenv("DATABASE_QUERY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 5*time.Minute {
			bad("DATABASE_QUERY_TIMEOUT", "%q is not a duration from 1ms to 5m", v)
		}
		c.DatabaseQueryTimeout = d
	}
	c.DrainDelay = 5 * time.Second
	if v := getenv("DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			bad("DRAIN_DELAY", "%q is not a duration from 0s to 5m", v)
		}
		c.DrainDelay = d
	}
	c.MaxInFlight, c.MaxInFlightBacklog, c.MaxInFlightWait = 256, 256, 100*time.Millisecond
	if v := getenv("MAX_IN_FLIGHT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			bad("MAX_IN_FLIGHT", "%q is not a whole number from 1 to 1000000", v)
		}
		c.MaxInFlight = n
	}
	if v := getenv("MAX_IN_FLIGHT_BACKLOG"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			bad("MAX_IN_FLIGHT_BACKLOG", "%q is not a whole number from 0 to 1000000", v)
		}
		c.MaxInFlightBacklog = n
	}
	if v := getenv("MAX_IN_FLIGHT_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 10*time.Second {
			bad("MAX_IN_FLIGHT_WAIT", "%q is not a duration from 0s to 10s", v)
		}
		c.MaxInFlightWait = d
	}
	c.TLSWatchAddr = get("TLS_WATCH_ADDR", "")
	if c.TLSWatchAddr != "" {
		if _, _, err := splitHostPort(c.TLSWatchAddr); err != nil {
			bad("TLS_WATCH_ADDR", "%v", err)
		}
	}
	c.TLSWatchWarn = 14 * 24 * time.Hour
	if v := getenv("TLS_WATCH_WARN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad("TLS_WATCH_WARN", "%q is not a duration such as 336h", v)
		}
		c.TLSWatchWarn = d
	}
	c.getenv = getenv
	c.forceHTTPS = c.Production()
	if v := getenv("FORCE_HTTPS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("FORCE_HTTPS", "%q is not true or false", v)
		}
		c.forceHTTPS = b
	}
	c.redisPolicyCheck = c.Production()
	if v := getenv("REDIS_POLICY_CHECK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("REDIS_POLICY_CHECK", "%q is not true or false", v)
		}
		c.redisPolicyCheck = b
	}
	c.MigrateOnStart = !c.Production()
	if v := getenv("MIGRATE_ON_START"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("MIGRATE_ON_START", "%q is not true or false", v)
		}
		c.MigrateOnStart = b
	}
	problems = append(problems, validateRates(c)...)
	problems = append(problems, loadTelemetry(c, getenv)...)
	problems = append(problems, validatePoolEnv(getenv)...)
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return c, nil
}

// ErrConfig is wrapped by configuration errors for errors.Is.
var ErrConfig = errors.New("invalid configuration")

// Is lets errors.Is(err, ErrConfig) match a *ConfigError.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%q has no port (want host:port)", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%q has an invalid port", addr)
	}
	return addr[:i], p, nil
}

func validateRates(c *Config) []string {
	var out []string
	if _, err := ratelimit.ParseRate(c.RateLimit); err != nil {
		out = append(out, "RATE_LIMIT: "+err.Error())
	}
	if _, err := ratelimit.ParseRate(c.LoginRateLimit); err != nil {
		out = append(out, "LOGIN_RATE_LIMIT: "+err.Error())
	}
	return out
}

// validatePoolEnv checks the DATABASE_* pool settings; without DATABASE_URL
// they apply to the embedded SQLite database.
func validatePoolEnv(getenv func(string) string) []string {
	_, err := pool.ConfigFromLookup(func(k string) (string, bool) {
		v := getenv(k)
		if k == "DATABASE_URL" && v == "" {
			return "sqlite://covet.db", true
		}
		return v, v != ""
	})
	if err == nil {
		return nil
	}
	var out []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
