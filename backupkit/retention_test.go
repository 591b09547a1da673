package backupkit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

func TestPolicyPlan(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	// Backups twice a day (00:00 and 12:00) for 120 days, newest first, plus
	// incomplete ones.
	var es []entry
	for i := 0; i < 240; i++ {
		t := at(time.Duration(i) * 12 * time.Hour)
		es = append(es, entry{ID: t.Format(idLayout), Time: t, Complete: true})
	}
	ids := func(es []entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Time.Format("01-02T15"))
		}
		return out
	}
	tests := []struct {
		name   string
		p      Policy
		es     []entry
		kept   []string // by "MM-DDTHH"; nil: check count only
		nKept  int
		remove []string
	}{
		{"zero keeps all", Policy{}, es, nil, 240, nil},
		{"last 3", Policy{KeepLast: 3}, es, []string{"06-15T12", "06-15T00", "06-14T12"}, 3, nil},
		{"daily 3", Policy{KeepDaily: 3}, es, []string{"06-15T12", "06-14T12", "06-13T12"}, 3, nil},
		{"last 2 + daily 3", Policy{KeepLast: 2, KeepDaily: 3}, es, []string{"06-15T12", "06-15T00", "06-14T12", "06-13T12"}, 4, nil},
		{"weekly 2", Policy{KeepWeekly: 2}, es, []string{"06-15T12", "06-14T12"}, 2, nil}, // 2026-06-15 is a Monday
		{"monthly 3", Policy{KeepMonthly: 3}, es, []string{"06-15T12", "05-31T12", "04-30T12"}, 3, nil},
		{"max age", Policy{MaxAge: 2 * day}, es, []string{"06-15T12", "06-15T00", "06-14T12", "06-14T00", "06-13T12"}, 5, nil},
		{"daily within max age", Policy{KeepDaily: 30, MaxAge: 36 * time.Hour}, es, []string{"06-15T12", "06-14T12"}, 2, nil},
		{"newest survives max age", Policy{MaxAge: time.Hour}, es[10:], []string{"06-10T12"}, 1, nil},
		{"newest survives keep rules", Policy{KeepMonthly: 1, MaxAge: time.Minute}, es[4:], []string{"06-13T12"}, 1, nil},
		{
			"incomplete grace",
			Policy{KeepLast: 1},
			[]entry{
				{ID: "n", Time: at(time.Hour), Complete: false},
				{ID: "c", Time: at(2 * time.Hour), Complete: true},
				{ID: "o", Time: at(25 * time.Hour), Complete: false},
			},
			[]string{"06-15T11", "06-15T10"}, 2, []string{"06-14T11"},
		},
		{
			"custom grace",
			Policy{IncompleteGrace: 30 * time.Minute},
			[]entry{{ID: "n", Time: at(time.Hour), Complete: false}},
			[]string{}, 0, []string{"06-15T11"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, remove := tt.p.plan(now, tt.es)
			if len(keep)+len(remove) != len(tt.es) {
				t.Fatalf("plan lost entries: %d kept + %d removed of %d", len(keep), len(remove), len(tt.es))
			}
			if len(keep) != tt.nKept {
				t.Fatalf("plan(%+v) kept %d: %v; want %d", tt.p, len(keep), ids(keep), tt.nKept)
			}
			if tt.kept != nil && !slices.Equal(ids(keep), tt.kept) && !(len(tt.kept) == 0 && len(keep) == 0) {
				t.Fatalf("plan(%+v) kept %v; want %v", tt.p, ids(keep), tt.kept)
			}
			if tt.remove != nil && !slices.Equal(ids(remove), tt.remove) {
				t.Fatalf("plan(%+v) removed %v; want %v", tt.p, ids(remove), tt.remove)
			}
		})
	}
}

func TestPolicyLocation(t *testing.T) {
	// 23:30 and 00:30 UTC fall on the same day in UTC-2.
	loc := time.FixedZone("UTC-2", -2*3600)
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	es := []entry{
		{ID: "b", Time: time.Date(2026, 6, 15, 0, 30, 0, 0, time.UTC), Complete: true},
		{ID: "a", Time: time.Date(2026, 6, 14, 23, 30, 0, 0, time.UTC), Complete: true},
	}
	keep, _ := Policy{KeepDaily: 2}.plan(now, es)
	if len(keep) != 2 {
		t.Fatalf("UTC: kept %d; want 2", len(keep))
	}
	keep, _ = Policy{KeepDaily: 2, Location: loc}.plan(now, es)
	if len(keep) != 1 {
		t.Fatalf("UTC-2: kept %d; want 1 (same local day)", len(keep))
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	for _, mk := range []func(*testing.T) Store{
		func(t *testing.T) Store { return newDirStore(t) },
	} {
		s := mk(t)
		clock := testenv.NewClock(time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC))
		m := mustManager(t, s, WithPrefix("db/"))
		m.now = clock.Now
		var ids []string
		for range 5 {
			man, err := m.Backup(ctx, NewReaderSource(strings.NewReader("data"), ""))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, man.ID)
			clock.Add(24 * time.Hour)
		}
		// An old incomplete backup and another backup set in the same store.
		old := newID(clock.Now().Add(-10 * 24 * time.Hour))
		up, _ := s.Create(ctx, "db/"+old+dataSuffix)
		if err := up.Commit(); err != nil {
			t.Fatalf("Commit of an empty object: %v", err)
		}
		other := mustManager(t, s, WithPrefix("files/"))
		if _, err := other.Backup(ctx, NewReaderSource(strings.NewReader("x"), "")); err != nil {
			t.Fatal(err)
		}

		p := Policy{KeepLast: 2}
		if _, err := m.Prune(ctx, Policy{KeepLast: -1}, false); err == nil {
			t.Fatal("Prune with a negative rule succeeded")
		}
		res, err := m.Prune(ctx, p, true)
		if err != nil {
			t.Fatal(err)
		}
		wantRemoved := []string{ids[2], ids[1], ids[0], old}
		if !slices.Equal(res.Removed, wantRemoved) || !slices.Equal(res.Kept, []string{ids[4], ids[3]}) {
			t.Fatalf("dry run = %+v; want removed %v", res, wantRemoved)
		}
		if list, _ := m.List(ctx); len(list) != 5 {
			t.Fatalf("dry run removed backups: %d left", len(list))
		}
		if _, err := m.Prune(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		list, _ := m.List(ctx)
		if len(list) != 2 || list[0].ID != ids[4] || list[1].ID != ids[3] {
			t.Fatalf("after prune: %v", list)
		}
		objs, _ := s.List(ctx, "db/")
		if len(objs) != 4 {
			t.Fatalf("after prune the store holds %v; want 2 backups × 2 objects", objs)
		}
		if l, _ := other.List(ctx); len(l) != 1 {
			t.Fatal("prune touched another backup set")
		}
	}
}
