package pool

import (
	"database/sql"
	"errors"
	"testing"
)

type fakeDriver struct{ err error }

func (f fakeDriver) Open(Config) (*sql.DB, string, error) { return nil, "", f.err }

func TestRegister(t *testing.T) {
	boom := errors.New("boom")
	Register(fakeDriver{err: boom}, "fake-a", "fake-b")
	t.Cleanup(func() {
		drivers.Lock()
		delete(drivers.m, "fake-a")
		delete(drivers.m, "fake-b")
		drivers.Unlock()
	})
	if _, err := Open(t.Context(), Config{URL: "FAKE-B://x"}); !errors.Is(err, boom) {
		t.Errorf("Open(FAKE-B://x) = %v; want the driver's error", err)
	}
	for _, tt := range []struct {
		name string
		fn   func()
	}{
		{"twice", func() { Register(fakeDriver{}, "fake-a") }},
		{"postgres", func() { Register(fakeDriver{}, "postgres") }},
		{"nil driver", func() { Register(nil, "fake-c") }},
		{"no scheme", func() { Register(fakeDriver{}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register %s did not panic", tt.name)
				}
			}()
			tt.fn()
		})
	}
}

func TestSchemeOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://h/db", "postgres"},
		{"SQLite:a.db", "sqlite"},
		{"file:a.db", "file"},
		{"/var/a.db", ""},
		{"user@host:5432", ""},
		{"", ""},
	} {
		if got := schemeOf(tt.in); got != tt.want {
			t.Errorf("schemeOf(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
