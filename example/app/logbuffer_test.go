package app

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a destination safe for the test to read while written.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogBuffer: every line arrives whole and in order per writer, in
// batches; lines reach the destination within the interval without a
// Close; Close writes the rest.
func TestLogBuffer(t *testing.T) {
	tests := []struct {
		name     string
		writers  int
		lines    int
		interval time.Duration
	}{
		{"few lines", 1, 10, time.Hour},
		{"many writers", 8, 2000, time.Millisecond},
		{"past the batch", 4, 5000, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := &lockedBuffer{}
			b := NewLogBuffer(dst, tt.interval)
			var wg sync.WaitGroup
			for w := range tt.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range tt.lines {
						line := fmt.Sprintf("{\"writer\":%d,\"line\":%d,\"pad\":%q}\n", w, i, strings.Repeat("x", 40))
						if n, err := b.Write([]byte(line)); err != nil || n != len(line) {
							t.Errorf("Write = %d, %v", n, err)
						}
					}
				}()
			}
			wg.Wait()
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			next := make([]int, tt.writers)
			got := strings.Split(strings.TrimSuffix(dst.String(), "\n"), "\n")
			if len(got) != tt.writers*tt.lines {
				t.Fatalf("%d lines arrived; want %d", len(got), tt.writers*tt.lines)
			}
			for _, l := range got {
				var w, i int
				if _, err := fmt.Sscanf(l, "{\"writer\":%d,\"line\":%d,", &w, &i); err != nil {
					t.Fatalf("torn line %q", l)
				}
				if i != next[w] {
					t.Fatalf("writer %d: line %d after %d", w, i, next[w]-1)
				}
				next[w]++
			}
			if dst.writes >= len(got) && len(got) > 100 {
				t.Errorf("%d writes for %d lines; want batches", dst.writes, len(got))
			}
		})
	}
}

// TestLogBufferInterval: a line is written within the interval without a
// Close.
func TestLogBufferInterval(t *testing.T) {
	dst := &lockedBuffer{}
	b := NewLogBuffer(dst, 5*time.Millisecond)
	defer b.Close()
	_, _ = b.Write([]byte("line\n"))
	deadline := time.Now().Add(10 * time.Second)
	for dst.String() != "line\n" {
		if time.Now().After(deadline) {
			t.Fatal("the line was not written within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
