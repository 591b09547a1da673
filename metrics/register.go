package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c on reg, or returns the collector already registered
// under the same descriptor so that several middlewares (or several calls
// of a helper) can share one registry.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	var zero T
	return zero, registerError(err)
}

func registerError(err error) error {
	return fmt.Errorf("%w: %w", ErrRegister, err)
}
