package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

func (s *Store) jtiKey(jti string) string         { return s.cfg.prefix + "jti:" + jti }
func (s *Store) subjectKey(subject string) string { return s.cfg.prefix + "nbf:" + subject }

// DenyToken implements [jwtauth.Denylist]. It costs two round trips: the
// revocation is published to the stores that keep a local mirror
// ([WithLocalMirror]), then written where a direct check reads it.
func (s *Store) DenyToken(ctx context.Context, jti string, until time.Time) error {
	if err := s.index(ctx, jtiMember(jti), until); err != nil {
		return err
	}
	return s.call(ctx, func(ctx context.Context) error {
		return s.c.SetArgs(ctx, s.jtiKey(jti), "1", redis.SetArgs{ExpireAt: until}).Err()
	})
}

// denySubjectScript keeps the later of the stored and the new "not before".
var denySubjectScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local nbf = tonumber(ARGV[1])
if cur > nbf then nbf = cur end
redis.call('SET', KEYS[1], nbf, 'PXAT', ARGV[2])
return nbf
`)

// DenySubject implements [jwtauth.Denylist]. Like DenyToken, it publishes
// the revocation, then writes it.
func (s *Store) DenySubject(ctx context.Context, subject string, notBefore, until time.Time) error {
	if err := s.index(ctx, subjectMember(subject, notBefore), until); err != nil {
		return err
	}
	return s.call(ctx, func(ctx context.Context) error {
		return denySubjectScript.Run(ctx, s.c, []string{s.subjectKey(subject)}, notBefore.UnixMilli(), until.UnixMilli()).Err()
	})
}

// Revoked implements [jwtauth.Denylist]. With a synced local mirror
// ([WithLocalMirror]) it costs no round trip; otherwise one (a pipeline of
// at most two reads). A call without a jti, which is jwtauth's check of a
// refresh token's family, always asks Redis: a refresh costs round trips
// anyway, and so a "log out everywhere" binds refreshes on every replica as
// soon as it is written, with no window.
func (s *Store) Revoked(ctx context.Context, jti, subject string, issuedAt time.Time) (bool, error) {
	if s.mirror != nil && jti != "" {
		if revoked, ok := s.mirror.revoked(jti, subject, issuedAt); ok {
			return revoked, nil
		}
	}
	var jtiCmd *redis.IntCmd
	var subCmd *redis.StringCmd
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			if jti != "" {
				jtiCmd = p.Exists(ctx, s.jtiKey(jti))
			}
			subCmd = p.Get(ctx, s.subjectKey(subject))
			return nil
		})
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	if jtiCmd != nil && jtiCmd.Val() > 0 {
		return true, nil
	}
	if nbf, err := subCmd.Int64(); err == nil && issuedAt.UnixMilli() < nbf {
		return true, nil
	}
	return false, nil
}
