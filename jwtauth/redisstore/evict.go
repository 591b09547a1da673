package redisstore

import (
	"context"
	"fmt"

	"github.com/covetgo/covet/internal/redisevict"
)

// checkEviction refuses a Redis whose maxmemory-policy may evict keys
// unless [WithEvictionAllowed] was given, and warns when the policy cannot
// be read.
func (s *Store) checkEviction(ctx context.Context) error {
	err := redisevict.Enforce(ctx, s.c, redisevict.Requirement{
		Name:    "jwtauth/redisstore",
		Keeps:   "revocations and refresh records",
		Loss:    "revoked tokens may work again",
		Refuse:  true,
		Allowed: s.cfg.allowEviction,
		Aware:   s.aware,
		Timeout: max(s.cfg.timeout, checkTimeout),
		Logger:  s.cfg.logger,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}
