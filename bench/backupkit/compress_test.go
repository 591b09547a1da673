package backupkitbench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/covetgo/covet/backupkit"
)

// dumpLike returns rows shaped like a COPY of the users table.
func dumpLike(n int) []byte {
	var b bytes.Buffer
	for i := 1; b.Len() < n; i++ {
		status := "active"
		if i%10 == 0 {
			status = "inactive"
		}
		fmt.Fprintf(&b, "%d\tuser%d\tuser%d@example.com\t%s\t2024-01-%02d %02d:%02d:%02d+00\n",
			i, i, i, status, 1+i%28, i%24, i%60, (i*7)%60)
	}
	return b.Bytes()[:n]
}

// BenchmarkStdlibGzip is the single-threaded gzip a shell pipeline uses.
func BenchmarkStdlibGzip(b *testing.B) {
	data := dumpLike(16 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		zw, _ := gzip.NewWriterLevel(io.Discard, 6)
		if _, err := zw.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Commit() error               { return nil }
func (discard) Abort() error                { return nil }

type discardStore struct{}

func (discardStore) Create(context.Context, string) (backupkit.Upload, error) { return discard{}, nil }
func (discardStore) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, backupkit.ErrNotFound
}
func (discardStore) List(context.Context, string) ([]backupkit.Object, error) { return nil, nil }
func (discardStore) Delete(context.Context, string) error                     { return nil }

func benchPipeline(b *testing.B, c backupkit.Compression) {
	data := dumpLike(16 << 20)
	m, err := backupkit.New(discardStore{}, backupkit.WithCompression(c))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Backup(context.Background(), backupkit.NewReaderSource(bytes.NewReader(data), "")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineGzip is backupkit's default: parallel gzip, SHA-256.
func BenchmarkPipelineGzip(b *testing.B) { benchPipeline(b, backupkit.Gzip) }

// BenchmarkPipelineZstd is backupkit with zstd.
func BenchmarkPipelineZstd(b *testing.B) { benchPipeline(b, backupkit.Zstd) }
