package tool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	p := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

var errRead = errors.New("checksum mismatch upstream")

// failAfter yields s, then fails with errRead.
func failAfter(s string) io.Reader {
	return io.MultiReader(strings.NewReader(s), readerFunc(func([]byte) (int, error) { return 0, errRead }))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestRun(t *testing.T) {
	cat := script(t, "exec cat")
	tests := []struct {
		name    string
		tool    string
		stdin   io.Reader
		ctxDone bool
		out     string
		want    error    // errors.Is target
		msg     []string // the error text holds each
		wantErr bool
	}{
		{name: "stdin to stdout", tool: cat, stdin: strings.NewReader("hello"), out: "hello"},
		{name: "no stdin", tool: script(t, "echo out"), out: "out\n"},
		{name: "failure quotes stderr", tool: script(t, "echo 'first line' >&2; echo 'pg_restore: error: bad archive' >&2; exit 3"),
			wantErr: true, msg: []string{"exit status 3", "first line", "bad archive"}},
		{name: "failure without stderr", tool: script(t, "exit 4"), wantErr: true, msg: []string{"exit status 4"}},
		{name: "stderr tail only", tool: script(t, "i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done; exit 1"),
			wantErr: true, msg: []string{"line1999"}},
		{name: "input error wins", tool: cat, stdin: failAfter("partial"), want: errRead, wantErr: true},
		{name: "missing tool", tool: filepath.Join(t.TempDir(), "nope"), wantErr: true, want: os.ErrNotExist},
		{name: "cancelled", tool: cat, stdin: strings.NewReader("x"), ctxDone: true, want: context.Canceled, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.ctxDone {
				cancel()
			}
			var out bytes.Buffer
			err := Run(ctx, tt.tool, nil, nil, tt.stdin, &out)
			if !tt.wantErr {
				if err != nil || out.String() != tt.out {
					t.Fatalf("Run = %q, %v; want %q", out.String(), err, tt.out)
				}
				return
			}
			if err == nil {
				t.Fatal("Run succeeded; want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Run = %v; want %v", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Run = %v; want it to say %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "line0\n") {
				t.Errorf("Run kept all of stderr: %d bytes", len(err.Error()))
			}
		})
	}
	// A nil stdout discards.
	if err := Run(context.Background(), script(t, "echo discarded"), nil, nil, nil, nil); err != nil {
		t.Fatalf("Run with nil stdout = %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		max    int
		writes []string
		want   string
	}{
		{10, nil, ""},
		{10, []string{"  short \n"}, "short"},
		{5, []string{"abcdefgh"}, "defgh"},
		{5, []string{"abc", "def", "gh"}, "defgh"},
		{5, []string{"abcde"}, "abcde"},
	}
	for _, tt := range tests {
		b := &tailBuffer{max: tt.max}
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := b.String(); got != tt.want {
			t.Errorf("tailBuffer(%d) after %q = %q; want %q", tt.max, tt.writes, got, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		name string
		tool string
		want string
	}{
		{"first line", script(t, `[ "$1" = --version ] && printf '  pg_dump (PostgreSQL) 15.2  \nmore\n'`), "pg_dump (PostgreSQL) 15.2"},
		{"failing tool", script(t, "exit 1"), ""},
		{"missing tool", filepath.Join(t.TempDir(), "nope"), ""},
	}
	for _, tt := range tests {
		if got := Version(context.Background(), tt.tool); got != tt.want {
			t.Errorf("Version(%s) = %q; want %q", tt.name, got, tt.want)
		}
	}
}
