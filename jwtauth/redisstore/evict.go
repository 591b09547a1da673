package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/covetgo/covet/internal/redisdeadline"
	"github.com/covetgo/covet/internal/redisevict"
)

// checkEviction refuses a Redis whose maxmemory-policy may evict keys
// unless [WithEvictionAllowed] was given, and warns when the policy cannot
// be read.
func (s *Store) checkEviction(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, max(s.cfg.timeout, checkTimeout))
	defer cancel()
	var policy string
	var evictable bool
	err := redisdeadline.Do(cctx, s.aware, func(ctx context.Context) (err error) {
		policy, evictable, err = redisevict.Check(ctx, s.c)
		return err
	})
	log := s.cfg.logger
	switch {
	case errors.Is(err, redisevict.ErrUnknownPolicy):
		log.Warn("redisstore: redis refused to tell its maxmemory-policy (CONFIG); make sure it is noeviction, or revoked tokens may work again",
			"err", err)
	case err != nil:
		log.Warn("redisstore: could not read maxmemory-policy, redis unreachable; make sure it is noeviction, or revoked tokens may work again",
			"err", err)
	case evictable && !s.cfg.allowEviction:
		return fmt.Errorf("%w: redis maxmemory-policy is %q, which may evict revocations and refresh records; set it to noeviction (or pass WithEvictionAllowed)",
			ErrInvalidConfig, policy)
	case evictable:
		log.Warn("redisstore: redis may evict keys (WithEvictionAllowed): an evicted revocation is a token that works again",
			"maxmemory-policy", policy)
	}
	return nil
}
