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
	// DenylistMirror keeps a copy of the access-token denylist in each
	// replica, kept fresh over Redis pub/sub, so that checking a token costs
	// no Redis round trip (AUTH_DENYLIST_MIRROR, default true; only with
	// Redis). Off, every authenticated request reads the denylist in Redis.
	DenylistMirror bool
	// CacheLocal keeps the caches' values (users by ID, pages of the user
	// list) and the list's tag version in each replica's memory as well as
	// in Redis, dropped over Redis pub/sub when another replica writes, so a
	// hot read costs no Redis round trip (CACHE_LOCAL, default true; only
	// with Redis). Off, every cached read goes to Redis and a write is seen
	// by every replica from the next read.
	CacheLocal bool
	// AllowInsecureTransport lets production talk to PostgreSQL and Redis
	// without TLS (ALLOW_INSECURE_TRANSPORT=true, on purpose only).
	AllowInsecureTransport bool
	RateLimit              string
	LoginRateLimit         string
	// RateLimitLease is the lease batch of the global limit on Redis
	// (RATE_LIMIT_LEASE, default 10): each replica takes up to this many
	// requests' allowance per key in one Redis call and spends it locally
	// (see ratelimit/redisstore.WithLease); 0 makes every request ask
	// Redis. The login limit is always exact.
	RateLimitLease int
	LogLevel       slog.Level
	// LogFlushInterval (LOG_FLUSH_INTERVAL, default 100ms) batches the log
	// in memory and writes it this often (see LogBuffer); 0 writes every
	// line as it is logged.
	LogFlushInterval time.Duration
	AdminUsername    string
	AdminPassword    string // empty: a random password is generated and logged once
	SeedUsers        int
	DrainDelay       time.Duration
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

// configError lists every invalid variable.
type configError struct{ Problems []string }

func (e *configError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// LoadConfig reads the configuration from getenv (os.Getenv when nil) and
// validates all of it, returning one *ConfigError that names every bad
// variable.
func LoadConfig(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := &envReader{}
	e.getenv = withFiles(getenv, e.bad)
	c := e.basics()
	e.listeners(c)
	e.signingKeys(c)
	e.origins(c)
	e.stores(c)
	e.production(c)
	e.placeholders(c)
	e.logAndAdmin(c)
	e.limits(c)
	e.switches(c)
	problems := e.problems
	problems = append(problems, validateRates(c)...)
	problems = append(problems, loadTelemetry(c, e.getenv)...)
	problems = append(problems, validatePoolEnv(e.getenv)...)
	if len(problems) > 0 {
		return nil, &configError{Problems: problems}
	}
	return c, nil
}

// envReader reads variables and collects every problem with them, so that
// LoadConfig reports all of them at once.
type envReader struct {
	getenv   func(string) string
	problems []string
}

func (e *envReader) bad(name, format string, args ...any) {
	e.problems = append(e.problems, name+": "+fmt.Sprintf(format, args...))
}

// get returns the trimmed value of name, or def when it is empty.
func (e *envReader) get(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

// list splits a comma-separated variable, dropping empty entries.
func (e *envReader) list(name string) []string {
	var out []string
	for _, p := range strings.Split(e.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// boolean reads a true/false variable, def when unset.
func (e *envReader) boolean(name string, def bool) bool {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.bad(name, "%q is not true or false", v)
	}
	return b
}

// duration reads a duration within [lo, hi], def when unset.
func (e *envReader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		e.bad(name, "%q is not a duration from %s to %s", v, shortDuration(lo), shortDuration(hi))
	}
	return d
}

// shortDuration writes 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// integer reads a whole number within [lo, hi], def when unset.
func (e *envReader) integer(name string, def, lo, hi int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.bad(name, "%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n
}

// basics reads the plain settings, which need no validation of their own
// or are validated by the steps after.
func (e *envReader) basics() *Config {
	return &Config{
		Environment:      strings.ToLower(e.get("ENVIRONMENT", "development")),
		Addr:             e.get("ADDR", "127.0.0.1:8080"),
		InternalAddr:     e.get("INTERNAL_ADDR", "127.0.0.1:8081"),
		AppName:          e.get("APP_NAME", "covet-example"),
		AppVersion:       e.get("APP_VERSION", "dev"),
		AllowedHosts:     e.list("ALLOWED_HOSTS"),
		CORSAllowOrigins: e.list("CORS_ALLOW_ORIGINS"),
		DatabaseURL:      e.get("DATABASE_URL", ""),
		RedisURL:         e.get("REDIS_URL", ""),
		RedisSecurityURL: e.get("REDIS_SECURITY_URL", ""),
		RateLimit:        e.get("RATE_LIMIT", "1000/minute"),
		LoginRateLimit:   e.get("LOGIN_RATE_LIMIT", "5/minute"),
		AdminUsername:    e.get("ADMIN_USERNAME", "admin"),
		AdminPassword:    e.getenv("ADMIN_PASSWORD"),
		DataDir:          e.get("DATA_DIR", "data"),
		BackupTarget:     e.get("BACKUP_TARGET", ""),
		getenv:           e.getenv,
	}
}

// listeners checks ENVIRONMENT and the two listen addresses.
func (e *envReader) listeners(c *Config) {
	switch c.Environment {
	case "development", "production":
	default:
		e.bad("ENVIRONMENT", "%q is not development or production", c.Environment)
	}
	if _, _, err := splitHostPort(c.Addr); err != nil {
		e.bad("ADDR", "%v", err)
	}
	if _, _, err := splitHostPort(c.InternalAddr); err != nil {
		e.bad("INTERNAL_ADDR", "%v", err)
	} else if c.InternalAddr == c.Addr {
		e.bad("INTERNAL_ADDR", "must differ from ADDR: the internal endpoints are never public")
	}
}

// signingKeys reads SECRET_KEY or SIGNING_KEYS (one of them in production).
func (e *envReader) signingKeys(c *Config) {
	switch k, ks := e.getenv("SECRET_KEY"), e.getenv("SIGNING_KEYS"); {
	case k != "" && ks != "":
		e.bad("SIGNING_KEYS", "set together with SECRET_KEY; set only one")
	case ks != "":
		keys, err := parseSigningKeys(ks)
		if err != nil {
			e.bad("SIGNING_KEYS", "%v", err)
		}
		c.SigningKeys = keys
	case k != "":
		if len(k) < 32 {
			e.bad("SECRET_KEY", "must be at least 32 bytes, got %d", len(k))
		}
		c.SecretKey = []byte(k)
		c.SigningKeys = []signingKey{{ID: "k1", Secret: c.SecretKey}}
	case c.Production():
		e.bad("SECRET_KEY", "required in production (at least 32 random bytes), or SIGNING_KEYS")
	}
}

// origins checks ALLOWED_HOSTS, CORS_ALLOW_ORIGINS and TRUSTED_PROXIES.
func (e *envReader) origins(c *Config) {
	if c.Production() && len(c.AllowedHosts) == 0 {
		e.bad("ALLOWED_HOSTS", "required in production (comma-separated host names)")
	}
	for _, h := range c.AllowedHosts {
		if strings.ContainsAny(h, "/ @") {
			e.bad("ALLOWED_HOSTS", "%q is not a host name", h)
		}
	}
	for _, o := range c.CORSAllowOrigins {
		if o == "*" {
			if c.Production() {
				e.bad("CORS_ALLOW_ORIGINS", "a wildcard is refused in production: the API uses credentials")
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			e.bad("CORS_ALLOW_ORIGINS", "%q is not an origin like https://app.example.com", o)
		}
	}
	for _, p := range e.list("TRUSTED_PROXIES") {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, err2 := netip.ParseAddr(p)
			if err2 != nil {
				e.bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
}

// stores checks the database and Redis URLs.
func (e *envReader) stores(c *Config) {
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite" && u.Scheme != "file") {
			e.bad("DATABASE_URL", "must be a postgres://, sqlite:// or file: URL")
		}
	}
	if c.RedisURL != "" {
		if _, err := parseRedisURL(c.RedisURL); err != nil {
			e.bad("REDIS_URL", "%v", err)
		}
	}
	if c.RedisSecurityURL != "" {
		if _, err := parseRedisURL(c.RedisSecurityURL); err != nil {
			e.bad("REDIS_SECURITY_URL", "%v", err)
		}
		if c.RedisURL == "" {
			e.bad("REDIS_SECURITY_URL", "needs REDIS_URL too")
		}
	}
	c.AllowInsecureTransport = e.boolean("ALLOW_INSECURE_TRANSPORT", false)
	c.DenylistMirror = e.boolean("AUTH_DENYLIST_MIRROR", true)
	c.CacheLocal = e.boolean("CACHE_LOCAL", true)
}

// production applies production's rules: replicas share one PostgreSQL and
// one Redis, both over TLS unless ALLOW_INSECURE_TRANSPORT says otherwise.
func (e *envReader) production(c *Config) {
	if !c.Production() {
		return
	}
	switch {
	case c.DatabaseURL == "":
		e.bad("DATABASE_URL", "required in production (postgres://…): replicas must share one database")
	case !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		e.bad("DATABASE_URL", "must be PostgreSQL in production: SQLite is one file on one pod")
	case !c.AllowInsecureTransport && !postgresTLS(c.DatabaseURL):
		e.bad("DATABASE_URL", "production needs TLS to PostgreSQL: sslmode=verify-full (or require); ALLOW_INSECURE_TRANSPORT=true to accept plain TCP on a trusted network")
	}
	if c.RedisURL == "" {
		e.bad("REDIS_URL", "required in production: replicas must share limits, lockouts and refresh tokens")
	}
	for _, r := range [...]struct{ name, url string }{{"REDIS_URL", c.RedisURL}, {"REDIS_SECURITY_URL", c.RedisSecurityURL}} {
		if r.url != "" && !c.AllowInsecureTransport && !strings.HasPrefix(r.url, "rediss://") {
			e.bad(r.name, "production needs TLS to Redis: use rediss://; ALLOW_INSECURE_TRANSPORT=true to accept plain TCP on a trusted network")
		}
	}
}

// logAndAdmin reads LOG_LEVEL and checks the admin account.
func (e *envReader) logAndAdmin(c *Config) {
	switch lv := strings.ToLower(e.get("LOG_LEVEL", "info")); lv {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		e.bad("LOG_LEVEL", "%q is not debug, info, warn or error", lv)
	}
	if name, ok := normalizeUsername(c.AdminUsername); ok {
		c.AdminUsername = name
	} else {
		e.bad("ADMIN_USERNAME", "3-50 ASCII letters, digits or underscores")
	}
	if c.Production() && c.AdminPassword == "" {
		e.bad("ADMIN_PASSWORD", "required in production")
	}
}

// limits reads the numbers and budgets: seeding, timeouts, load shedding
// and the certificate watch.
func (e *envReader) limits(c *Config) {
	c.SeedUsers = e.integer("SEED_USERS", 1000, 0, 10_000_000)
	c.RateLimitLease = e.integer("RATE_LIMIT_LEASE", 10, 0, 1_000_000)
	c.RedisTimeout = e.duration("REDIS_TIMEOUT", 50*time.Millisecond, time.Millisecond, 10*time.Second)
	c.DatabaseQueryTimeout = e.duration("DATABASE_QUERY_TIMEOUT", 2*time.Second, time.Millisecond, 5*time.Minute)
	c.DrainDelay = e.duration("DRAIN_DELAY", 5*time.Second, 0, 5*time.Minute)
	c.MaxInFlight = e.integer("MAX_IN_FLIGHT", 256, 1, 1_000_000)
	c.MaxInFlightBacklog = e.integer("MAX_IN_FLIGHT_BACKLOG", 256, 0, 1_000_000)
	c.MaxInFlightWait = e.duration("MAX_IN_FLIGHT_WAIT", 100*time.Millisecond, 0, 10*time.Second)
	c.LogFlushInterval = e.duration("LOG_FLUSH_INTERVAL", 100*time.Millisecond, 0, 10*time.Second)
	c.TLSWatchAddr = e.get("TLS_WATCH_ADDR", "")
	if c.TLSWatchAddr != "" {
		if _, _, err := splitHostPort(c.TLSWatchAddr); err != nil {
			e.bad("TLS_WATCH_ADDR", "%v", err)
		}
	}
	c.TLSWatchWarn = 14 * 24 * time.Hour
	if v := e.getenv("TLS_WATCH_WARN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			e.bad("TLS_WATCH_WARN", "%q is not a duration such as 336h", v)
		}
		c.TLSWatchWarn = d
	}
}

// switches reads the booleans whose default depends on the environment.
func (e *envReader) switches(c *Config) {
	c.forceHTTPS = e.boolean("FORCE_HTTPS", c.Production())
	c.redisPolicyCheck = e.boolean("REDIS_POLICY_CHECK", c.Production())
	c.MigrateOnStart = e.boolean("MIGRATE_ON_START", !c.Production())
}

// errConfig is wrapped by configuration errors for errors.Is.
var errConfig = errors.New("invalid configuration")

// Is lets errors.Is(err, ErrConfig) match a *ConfigError.
func (e *configError) Is(target error) bool { return target == errConfig }

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
