package backupkit_test

import (
	"testing"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/storetest"
)

func TestDirStoreContract(t *testing.T) {
	s, err := backupkit.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Contract(t, s, 3<<20)
}
