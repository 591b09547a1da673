// Package tool runs the external programs of backupkit and its subpackages
// (pg_dump, pg_restore, psql, redis-cli).
package tool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// tailBuffer keeps the last max bytes written to it: enough of a tool's
// stderr to explain a failure without holding all of it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// readErr remembers the first non-EOF error of the reader it wraps, so a
// restore reports "checksum mismatch" rather than the tool's complaint about
// a truncated input.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// Run runs a tool with stdin and stdout attached and turns a failure into an
// error that names the tool and quotes the end of its stderr.
func Run(ctx context.Context, name string, args, env []string, stdin io.Reader, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var in *readErr
	if stdin != nil {
		in = &readErr{r: stdin}
		cmd.Stdin = in
	}
	cmd.Stdout = stdout
	if stdout == nil {
		cmd.Stdout = io.Discard
	}
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if in != nil && in.err != nil {
		return in.err
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("backupkit: %s: %w", name, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg := stderr.String(); msg != "" {
			return fmt.Errorf("backupkit: %s: %v: %s", name, err, msg)
		}
	}
	return fmt.Errorf("backupkit: %s: %w", name, err)
}

// Version returns the first line of "name --version".
func Version(ctx context.Context, name string) string {
	var out bytes.Buffer
	if err := Run(ctx, name, []string{"--version"}, nil, nil, &out); err != nil {
		return ""
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	return strings.TrimSpace(line)
}
