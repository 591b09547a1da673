package backupkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

// The listing keeps to the Manager's own backups: objects that are not
// named like a backup of its prefix, or that lie in a sub-directory of it,
// are neither listed nor pruned.
func TestListIgnoresForeignObjects(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	clock := testenv.NewClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	m := mustManager(t, s, WithPrefix("db/"))
	m.now = clock.Now
	man, err := m.Backup(ctx, NewReaderSource(strings.NewReader("data"), ""))
	if err != nil {
		t.Fatal(err)
	}
	foreign := []string{
		"db/notes.backup",                                         // not an ID
		"db/2026.manifest.json",                                   // too short to be an ID
		"db/sub/" + man.ID + dataSuffix,                           // deeper than the prefix
		"db/sub/" + man.ID + manifestSuffix,                       //
		"db/" + man.ID + ".backup.part",                           // another suffix
		"other/" + newID(clock.Now().Add(time.Hour)) + dataSuffix, // another prefix
	}
	for _, name := range foreign {
		up, err := s.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := up.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != man.ID {
		t.Fatalf("List = %v, %v; want only %s", list, err, man.ID)
	}
	clock.Add(1000 * time.Hour)
	res, err := m.Prune(ctx, Policy{MaxAge: time.Hour}, false)
	if err != nil || len(res.Removed) != 0 {
		t.Fatalf("Prune = %+v, %v; want nothing removed", res, err)
	}
	for _, name := range foreign {
		if _, err := s.Open(ctx, name); err != nil {
			t.Errorf("Prune removed %s: %v", name, err)
		}
	}
}

// When the store fails, every operation that reads it says so with the
// store's error: no "not found", no "checksum mismatch".
func TestStoreErrorsReachTheCaller(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		fault faultStore
	}{
		{"list", faultStore{op: "list"}},
		{"open manifest", faultStore{op: "open", suffix: manifestSuffix}},
		{"read manifest", faultStore{op: "read", suffix: manifestSuffix, after: 10}},
		{"open data", faultStore{op: "open", suffix: dataSuffix}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := newDirStore(t)
			man, err := mustManager(t, ds).Backup(ctx, NewReaderSource(strings.NewReader("data"), ""))
			if err != nil {
				t.Fatal(err)
			}
			fs := tt.fault
			fs.Store = ds
			m := mustManager(t, &fs)
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, errFault) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrChecksum) {
					t.Errorf("%s = %v; want the store's error alone", op, err)
				}
			}
			if tt.fault.suffix != dataSuffix {
				_, err = m.Get(ctx, "")
				check("Get latest", err)
				_, err = m.List(ctx)
				check("List", err)
			}
			_, err = m.Restore(ctx, "", neverTarget(t))
			check("Restore latest", err)
			if tt.fault.op != "list" { // Verify of a named backup does not list
				_, err = m.Verify(ctx, man.ID)
				check("Verify", err)
			}
			_, err = m.RestoreChecked(ctx, "", neverTarget(t), func(context.Context) error { return nil }, neverTarget(t))
			check("RestoreChecked", err)
			if tt.fault.op == "list" {
				_, err = m.Prune(ctx, Policy{}, true)
				check("Prune", err)
			}
		})
	}
}
