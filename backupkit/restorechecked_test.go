package backupkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// recordTarget keeps what a restore handed it, and fails with err.
type recordTarget struct {
	got   bytes.Buffer
	calls int
	err   error
}

func (r *recordTarget) Restore(ctx context.Context, rd io.Reader, m Manifest) error {
	r.calls++
	if _, err := io.Copy(&r.got, rd); err != nil {
		return err
	}
	return r.err
}

func TestRestoreChecked(t *testing.T) {
	errScratch := errors.New("scratch database is full")
	errCheck := errors.New("orders table is empty")
	tests := []struct {
		name       string
		empty      bool // no backup in the store
		corrupt    bool // the backup's data is damaged
		scratchErr error
		checkErr   error
		nilCheck   bool
		nilDst     bool
		want       []error // errors.Is targets; nil: success
		scratchN   int     // restores into scratch
		checkN     int     // check calls
	}{
		{name: "restored after the check", scratchN: 1, checkN: 1},
		{name: "check fails", checkErr: errCheck, want: []error{ErrCheckFailed, errCheck}, scratchN: 1, checkN: 1},
		{name: "scratch restore fails", scratchErr: errScratch, want: []error{errScratch}, scratchN: 1},
		{name: "damaged backup", corrupt: true, want: []error{ErrChecksum}},
		{name: "no backup", empty: true, want: []error{ErrNotFound}},
		{name: "nil check", nilCheck: true, want: []error{ErrInvalidConfig}},
		{name: "nil dst", nilDst: true, want: []error{ErrInvalidConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newDirStore(t)
			m := mustManager(t, s)
			var man Manifest
			if !tt.empty {
				var err error
				if man, err = m.Backup(ctx, NewReaderSource(strings.NewReader("the data"), "")); err != nil {
					t.Fatal(err)
				}
			}
			if tt.corrupt {
				rewrite(t, s, man.Object, func(b []byte) []byte { return b[:len(b)-1] })
			}
			scratch, dst := &recordTarget{err: tt.scratchErr}, &recordTarget{}
			checks := 0
			check := func(context.Context) error {
				checks++
				if scratch.got.String() != "the data" {
					t.Errorf("check ran on a scratch holding %q", scratch.got.String())
				}
				return tt.checkErr
			}
			if tt.nilCheck {
				check = nil
			}
			var target Target = dst
			if tt.nilDst {
				target = (*recordTarget)(nil)
			}
			got, err := m.RestoreChecked(ctx, "", scratch, check, target)
			if scratch.calls != tt.scratchN || checks != tt.checkN {
				t.Errorf("scratch restored %d times, checked %d; want %d, %d", scratch.calls, checks, tt.scratchN, tt.checkN)
			}
			if tt.want == nil {
				if err != nil || got.ID != man.ID || dst.got.String() != "the data" {
					t.Fatalf("RestoreChecked = %s, %v, dst %q; want %s restored", got.ID, err, dst.got.String(), man.ID)
				}
				return
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("RestoreChecked = %v; want %v", err, w)
				}
			}
			if dst.calls != 0 {
				t.Errorf("dst was restored into after a failure")
			}
		})
	}
}
