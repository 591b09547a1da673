package metrics

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's opener for the pool RegisterDB is tested with.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}
