package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/jwtauth"
)

// errCorrupt means a refresh record is not in the format this package
// writes; it is a server fault, not a bad token.
var errCorrupt = errors.New("redisstore: corrupt refresh record")

func (s *Store) familyKey(family string) string { return s.cfg.prefix + "rf:{" + family + "}" }
func (s *Store) tokenKey(family, hash string) string {
	return s.cfg.prefix + "rt:{" + family + "}:" + hash
}

// A token record is "a|<issued ms>|<expires ms>" while active and starts with
// "u" once used; the family record holds the subject.
func tokenValue(state string, t jwtauth.RefreshToken) string {
	return state + "|" + strconv.FormatInt(t.IssuedAt.UnixMilli(), 10) + "|" + strconv.FormatInt(t.ExpiresAt.UnixMilli(), 10)
}

// CreateRefresh implements [jwtauth.RefreshStore].
func (s *Store) CreateRefresh(ctx context.Context, t jwtauth.RefreshToken) error {
	exp := t.ExpiresAt
	return s.call(ctx, func(ctx context.Context) error {
		_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, s.familyKey(t.Family), t.Subject, redis.SetArgs{ExpireAt: exp})
			p.SetArgs(ctx, s.tokenKey(t.Family, t.Hash), tokenValue("a", t), redis.SetArgs{ExpireAt: exp})
			return nil
		})
		return err
	})
}

// rotateScript: KEYS family, old token, new token; ARGV new record, new
// expiry (unix ms). Returns {status, subject, old record}: status 1 rotated,
// 0 invalid, -1 reused (family deleted).
var rotateScript = redis.NewScript(`
local subject = redis.call('GET', KEYS[1])
if not subject then return {0} end
local old = redis.call('GET', KEYS[2])
if not old then return {0} end
if string.sub(old, 1, 1) ~= 'a' then
  redis.call('DEL', KEYS[1])
  return {-1}
end
redis.call('SET', KEYS[2], 'u' .. string.sub(old, 2), 'KEEPTTL')
redis.call('SET', KEYS[3], ARGV[1], 'PXAT', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {1, subject, old}
`)

// RotateRefresh implements [jwtauth.RefreshStore].
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, next jwtauth.RefreshToken) (jwtauth.RefreshToken, error) {
	keys := []string{s.familyKey(next.Family), s.tokenKey(next.Family, oldHash), s.tokenKey(next.Family, next.Hash)}
	var res []any
	err := s.call(ctx, func(ctx context.Context) (err error) {
		res, err = rotateScript.Run(ctx, s.c, keys, tokenValue("a", next), next.ExpiresAt.UnixMilli()).Slice()
		return err
	})
	if err != nil {
		return jwtauth.RefreshToken{}, err
	}
	status, _ := res[0].(int64)
	switch {
	case status == -1:
		return jwtauth.RefreshToken{}, jwtauth.ErrRefreshReused
	case status != 1 || len(res) != 3:
		return jwtauth.RefreshToken{}, jwtauth.ErrRefreshInvalid
	}
	subject, _ := res[1].(string)
	rec, _ := res[2].(string)
	old := jwtauth.RefreshToken{Family: next.Family, Hash: oldHash, Subject: subject}
	parts := strings.Split(rec, "|")
	if len(parts) != 3 {
		return jwtauth.RefreshToken{}, errCorrupt
	}
	iat, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return jwtauth.RefreshToken{}, errCorrupt
	}
	old.IssuedAt, old.ExpiresAt = time.UnixMilli(iat), time.UnixMilli(exp)
	return old, nil
}

// RevokeFamily implements [jwtauth.RefreshStore].
func (s *Store) RevokeFamily(ctx context.Context, family string) error {
	return s.call(ctx, func(ctx context.Context) error { return s.c.Del(ctx, s.familyKey(family)).Err() })
}
