// Seeding: the first admin account of an empty database.

package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

func (a *service) seed(ctx context.Context) error {
	adminPassword := a.cfg.AdminPassword
	generated := adminPassword == ""
	if generated {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		adminPassword = base64.RawURLEncoding.EncodeToString(b)
	} else if err := a.policy.Check(adminPassword, a.cfg.AdminUsername); err != nil {
		return fmt.Errorf("ADMIN_PASSWORD: %w", err)
	}
	hash, err := a.hasher.Hash(adminPassword)
	if err != nil {
		return err
	}
	if a.cfg.SeedUsers > 0 {
		// Demo users share one hash of a random password nobody knows, so
		// seeding costs one hash; Seed does nothing unless the table is empty.
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		demo, err := a.hasher.Hash(base64.RawURLEncoding.EncodeToString(b))
		if err != nil {
			return err
		}
		if err := a.users.Seed(ctx, a.cfg.SeedUsers, demo); err != nil {
			return err
		}
	}
	created, err := a.users.EnsureAdmin(ctx, a.cfg.AdminUsername, hash)
	if err != nil {
		return err
	}
	if created && generated {
		// Logged once, when the admin is created; never again.
		a.log.Warn("created the admin user with a random password; set ADMIN_PASSWORD to choose it", "username", a.cfg.AdminUsername, "password", adminPassword)
	}
	return nil
}
