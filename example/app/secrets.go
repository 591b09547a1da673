package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// fileVars are the variables that may also come from a file named by
// NAME_FILE, the convention of Docker and Kubernetes secrets: the file's
// content, without a trailing newline, is the value.
var fileVars = []string{
	"SECRET_KEY", "SIGNING_KEYS", "ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL", "REDIS_SECURITY_URL",
	"S3_ACCESS_KEY", "S3_SECRET_KEY",
}

// withFiles returns getenv extended by the NAME_FILE variables. Setting both
// NAME and NAME_FILE, or naming a file that cannot be read, is a problem
// reported through bad; files are read once, here.
func withFiles(getenv func(string) string, bad func(name, format string, args ...any)) func(string) string {
	vals := map[string]string{}
	for _, name := range fileVars {
		path := strings.TrimSpace(getenv(name + "_FILE"))
		if path == "" {
			continue
		}
		if getenv(name) != "" {
			bad(name+"_FILE", "set together with %s; set only one", name)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			// The error names the path, which the operator chose; never the content.
			bad(name+"_FILE", "%v", errors.Unwrap(err))
			continue
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			bad(name+"_FILE", "the file is empty")
			continue
		}
		vals[name] = v
	}
	if len(vals) == 0 {
		return getenv
	}
	return func(k string) string {
		if v, ok := vals[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// signingKey is one HS256 key of SIGNING_KEYS.
type signingKey struct {
	ID     string
	Secret []byte
}

// parseSigningKeys reads SIGNING_KEYS: "id:secret" entries separated by
// commas or newlines, newest first. The first signs; all verify, so a key
// is rotated by putting the new one first and dropping the old one once the
// tokens it signed have expired (the access-token lifetime, 15 minutes).
func parseSigningKeys(v string) ([]signingKey, error) {
	var out []signingKey
	seen := map[string]bool{}
	for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		id, secret, ok := strings.Cut(e, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" || strings.ContainsAny(id, " \t\"") {
			return nil, errors.New(`entries must be "id:secret", newest first`)
		}
		if len(secret) < 32 {
			return nil, fmt.Errorf("the secret of key %q must be at least 32 bytes, got %d", id, len(secret))
		}
		if seen[id] {
			return nil, fmt.Errorf("key id %q appears twice", id)
		}
		seen[id] = true
		out = append(out, signingKey{ID: id, Secret: []byte(secret)})
	}
	if len(out) == 0 {
		return nil, errors.New("no key")
	}
	return out, nil
}

// postgresTLS reports whether a PostgreSQL URL (or key=value DSN) insists on
// TLS: sslmode require, verify-ca or verify-full.
func postgresTLS(dsn string) bool {
	mode := ""
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		mode = u.Query().Get("sslmode")
	}
	switch mode {
	case "require", "verify-ca", "verify-full":
		return true
	}
	return false
}

// errEvictingRedis is returned at start in production when the Redis that
// holds the security state may evict keys under memory pressure.
var errEvictingRedis = errors.New("redis may evict security state")

// checkNoEviction refuses a Redis whose maxmemory-policy can evict keys.
// Refresh-token families, the denylist and lockouts must not be forgotten
// under memory pressure: an evicted revocation is a token that works again.
// Every policy but noeviction can evict them (they carry TTLs, so the
// volatile-* policies can too).
func checkNoEviction(ctx context.Context, log *slog.Logger, c redis.UniversalClient, which string) error {
	res, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	var rerr redis.Error
	if err != nil && !errors.As(err, &rerr) {
		// Unreachable: the service starts degraded (/ready names redis)
		// and the policy cannot be read; say so rather than refuse.
		log.Warn("could not read maxmemory-policy; make sure it is noeviction", "redis", which, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: reading maxmemory-policy (CONFIG GET; set REDIS_POLICY_CHECK=false if your provider hides it and you have made sure the policy is noeviction): %w", which, err)
	}
	policy := res["maxmemory-policy"]
	if policy != "noeviction" {
		return fmt.Errorf("%s: %w: maxmemory-policy is %q; use noeviction, or keep the security state on its own Redis (REDIS_SECURITY_URL) that does not evict", which, errEvictingRedis, policy)
	}
	return nil
}
