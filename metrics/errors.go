package metrics

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is wrapped by every constructor error caused by a
	// bad argument or option.
	ErrInvalidConfig = errors.New("metrics: invalid configuration")
	// ErrRegister is wrapped when a collector cannot be registered, for
	// example because a different metric already uses one of its names.
	ErrRegister = errors.New("metrics: cannot register collector")
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
