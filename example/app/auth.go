// Authentication: signing keys, the token service, the password login with
// its lockout, and the user id handed to the access log.

package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/jwtauth/redisstore"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/ratelimit/lockout"
	lockstore "github.com/covetgo/covet/ratelimit/lockout/redisstore"
)

type loginUser struct {
	ID       int64
	Username string
	Admin    bool
}

func (a *service) setupAuth(ctx context.Context) error {
	specs := a.cfg.SigningKeys
	if len(specs) == 0 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		specs = []signingKey{{ID: "k1", Secret: secret}}
		a.log.Warn("SECRET_KEY is not set: signing tokens with a random key; tokens die with this process and replicas will not accept each other's")
	}
	// The newest key signs; the others only verify, so tokens signed before
	// a rotation stay valid until they expire.
	keys := make([]jwtauth.Key, len(specs))
	for i, k := range specs {
		var err error
		if keys[i], err = jwtauth.HS256Key(k.ID, k.Secret); err != nil {
			return fmt.Errorf("SIGNING_KEYS: key %q: %w", k.ID, err)
		}
	}
	ring, err := jwtauth.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		return fmt.Errorf("SIGNING_KEYS: %w", err)
	}
	opts := []jwtauth.Option{jwtauth.WithIssuer(a.cfg.AppName), jwtauth.WithAudience(a.cfg.AppName), jwtauth.WithoutCookies()}
	var lock *lockout.Lockout
	if a.secRDB != nil {
		// Calls are bounded (250 ms, or REDIS_TIMEOUT if longer) and share the
		// breaker; refresh and the
		// denylist fail closed (503 + Retry-After): see the README.
		sopts := []redisstore.Option{redisstore.WithKeyPrefix(a.cfg.AppName + ":auth:"),
			redisstore.WithLogger(a.log), redisstore.WithTimeout(max(a.cfg.RedisTimeout, authStoreTimeout))}
		if !a.cfg.redisPolicyCheck {
			// REDIS_POLICY_CHECK=false: the operator vouches for the policy
			// (the store still warns once if it can see one that evicts).
			sopts = append(sopts, redisstore.WithEvictionAllowed())
		}
		if a.cfg.DenylistMirror {
			// Each replica keeps the denylist in memory, kept fresh over
			// pub/sub: checking a token costs no Redis round trip. A
			// revocation reaches the other replicas within milliseconds
			// (100 ms promised); while the subscription is down or not
			// yet reloaded, tokens are checked in Redis as before.
			sopts = append(sopts, redisstore.WithLocalMirror())
		}
		store, err := redisstore.New(ctx, a.secRDB, sopts...)
		if err != nil {
			return err
		}
		// Runs before the client's Close (closers run last first).
		a.closers = append(a.closers, store.Close)
		opts = append(opts, jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
		// While Redis is unavailable each replica counts failed logins in
		// memory (LocalFallback, the default), so logins keep working.
		// The store refuses a Redis that may evict keys (a lock evicted is
		// a lock lifted) unless the policy check is off (REDIS_POLICY_CHECK,
		// off outside production), when it warns once instead.
		lopts := []lockstore.Option{lockstore.WithKeyPrefix(a.cfg.AppName + ":lockout:"),
			lockstore.WithLogger(a.log), lockstore.WithTimeout(max(a.cfg.RedisTimeout, lockoutTimeout))}
		if !a.cfg.redisPolicyCheck {
			lopts = append(lopts, lockstore.WithEvictionAllowed())
		}
		ls, err := lockstore.New(ctx, a.secRDB, lopts...)
		if err != nil {
			return fmt.Errorf("lockout: %w", err)
		}
		if lock, err = lockout.New(lockout.WithStore(ls)); err != nil {
			return err
		}
	} else {
		store, err := jwtauth.NewMemoryStore()
		if err != nil {
			return err
		}
		opts = append(opts, jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
		lock, err = lockout.New()
		if err != nil {
			return err
		}
	}
	if a.auth, err = jwtauth.New[jwtauth.Claims](ring, opts...); err != nil {
		return err
	}
	if a.hasher, err = password.NewHasher(); err != nil {
		return err
	}
	if a.policy, err = password.NewPolicy(); err != nil {
		return err
	}
	a.login, err = password.NewLogin(a.hasher, a.lookupLogin, lock)
	if err != nil {
		return err
	}
	if !a.schemaReady {
		return nil
	}
	return a.seed(ctx)
}

func (a *service) lookupLogin(ctx context.Context, account string) (loginUser, string, error) {
	id, hash, status, err := a.users.Credentials(ctx, account)
	if errors.Is(err, errNotFound) || (err == nil && status != "active") {
		return loginUser{}, "", password.ErrUnknownAccount
	}
	if err != nil {
		return loginUser{}, "", err
	}
	account, _ = normalizeUsername(account) // valid: Credentials found it
	return loginUser{ID: id, Username: account, Admin: account == a.cfg.AdminUsername}, hash, nil
}

// setUserID hands the authenticated subject to the access log.
func (a *service) setUserID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtauth.ClaimsFromContext(r.Context()); ok {
			r = r.WithContext(metrics.WithUserID(r.Context(), c.Subject))
		}
		next.ServeHTTP(w, r)
	})
}
