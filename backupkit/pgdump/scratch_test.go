package pgdump

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/covetgo/covet/backupkit"

	"github.com/covetgo/covet/testenv"
)

func TestRestoreChecked(t *testing.T) {
	ctx := context.Background()
	src := testenv.PostgresDatabase(t)
	seed(t, src)
	want := tableSums(t, src)
	m := mustManager(t, newDirStore(t))
	ps, _ := NewSource(src)
	if _, err := m.Backup(ctx, ps); err != nil {
		t.Fatal(err)
	}
	dst := testenv.PostgresDatabase(t)
	pt, _ := NewTarget(dst)

	// A failing check leaves the real target alone.
	scratch, err := NewScratchDatabase(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("users table is short")
	_, err = m.RestoreChecked(ctx, "", scratch.Target, func(ctx context.Context) error { return boom }, pt)
	if !errors.Is(err, backupkit.ErrCheckFailed) || !errors.Is(err, boom) {
		t.Fatalf("RestoreChecked with a failing check = %v; want backupkit.ErrCheckFailed wrapping the cause", err)
	}
	if got := tableSums(t, dst); len(got) != 0 {
		t.Fatalf("a failed check still restored into the target: %v", got)
	}
	if err := scratch.Drop(ctx); err != nil {
		t.Fatal(err)
	}

	scratch, err = NewScratchDatabase(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Drop(ctx)
	check := func(ctx context.Context) error {
		got := tableSums(t, scratch.URL)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("scratch holds %v", got)
		}
		return nil
	}
	if _, err := m.RestoreChecked(ctx, "", scratch.Target, check, pt); err != nil {
		t.Fatalf("RestoreChecked: %v", err)
	}
	if got := tableSums(t, dst); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored %v; want %v", got, want)
	}
	if err := scratch.Drop(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := m.RestoreChecked(ctx, "", pt, nil, pt); err == nil {
		t.Fatal("RestoreChecked with a nil check succeeded")
	}
	if _, err := m.RestoreChecked(ctx, "nope", pt, check, pt); !errors.Is(err, backupkit.ErrNotFound) {
		t.Fatalf("RestoreChecked(nope) = %v; want backupkit.ErrNotFound", err)
	}
	// A scratch restore that fails stops before the check.
	dt, _ := backupkit.NewDirectoryTarget(t.TempDir() + "/x")
	if _, err := m.RestoreChecked(ctx, "", dt, check, pt); !errors.Is(err, backupkit.ErrWrongKind) {
		t.Fatalf("RestoreChecked into a directory scratch = %v; want backupkit.ErrWrongKind", err)
	}
}

func TestScratchDatabaseErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := NewScratchDatabase(ctx, "postgres://%zz"); err == nil {
		t.Fatal("NewScratchDatabase with a bad URL succeeded")
	}
	if _, err := NewScratchDatabase(ctx, "postgres://postgres@127.0.0.1:1/x?connect_timeout=1"); err == nil {
		t.Fatal("NewScratchDatabase on a closed port succeeded")
	}
	got, err := withDatabase("host=localhost dbname=a", "b")
	if err != nil || got != "host=localhost dbname=a dbname=b" {
		t.Fatalf("withDatabase = %q, %v", got, err)
	}
	got, err = withDatabase("postgres://u@h:5432/a?sslmode=disable", "b")
	if err != nil || got != "postgres://u@h:5432/b?sslmode=disable" {
		t.Fatalf("withDatabase = %q, %v", got, err)
	}
}
