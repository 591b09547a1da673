package backupkit

import (
	"context"
	"errors"
	"fmt"

	"github.com/covetgo/covet/internal/typednil"
)

// ErrCheckFailed: the check run on a scratch restore failed, so the real
// target was left alone.
var ErrCheckFailed = errors.New("backupkit: scratch restore check failed")

// RestoreChecked restores backup id (latest when "") into scratch, runs
// check, and only when check returns nil restores the same backup into dst.
// A failed check gives an error wrapping [ErrCheckFailed] and the check's own
// error; dst is not touched. Each restore verifies the backup first, as
// [Manager.Restore] does.
func (m *Manager) RestoreChecked(ctx context.Context, id string, scratch Target, check func(context.Context) error, dst Target) (Manifest, error) {
	switch {
	case check == nil:
		return Manifest{}, fmt.Errorf("%w: RestoreChecked: nil check", ErrInvalidConfig)
	case typednil.Is(scratch):
		return Manifest{}, fmt.Errorf("%w: RestoreChecked: nil scratch", ErrInvalidConfig)
	case typednil.Is(dst):
		return Manifest{}, fmt.Errorf("%w: RestoreChecked: nil dst", ErrInvalidConfig)
	}
	man, err := m.Get(ctx, id)
	if err != nil {
		return Manifest{}, err
	}
	if _, err := m.Restore(ctx, man.ID, scratch); err != nil {
		return man, fmt.Errorf("backupkit: scratch restore: %w", err)
	}
	if err := check(ctx); err != nil {
		return man, fmt.Errorf("%w: %w", ErrCheckFailed, err)
	}
	return m.Restore(ctx, man.ID, dst)
}
