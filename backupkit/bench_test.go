package backupkit

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func benchBackup(b *testing.B, opts ...Option) {
	data := testData(8 << 20)
	m := mustManager(b, discardStore{}, opts...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Backup(context.Background(), NewReaderSource(bytes.NewReader(data), "")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBackupGzip(b *testing.B) { benchBackup(b, WithCompression(Gzip)) }
func BenchmarkBackupZstd(b *testing.B) { benchBackup(b, WithCompression(Zstd)) }
func BenchmarkBackupNone(b *testing.B) { benchBackup(b, WithCompression(NoCompression)) }

func BenchmarkRestoreGzip(b *testing.B) {
	data := testData(8 << 20)
	m := mustManager(b, newDirStore(b), WithCompression(Gzip))
	man, err := m.Backup(context.Background(), NewReaderSource(bytes.NewReader(data), ""))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Restore(context.Background(), man.ID, NewWriterTarget(io.Discard)); err != nil {
			b.Fatal(err)
		}
	}
}

// discardStore accepts uploads and throws them away, to measure the
// pipeline alone.
type discardStore struct{}

func (discardStore) Create(context.Context, string) (Upload, error) { return discardUpload{}, nil }
func (discardStore) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, ErrNotFound
}
func (discardStore) List(context.Context, string) ([]Object, error) { return nil, nil }
func (discardStore) Delete(context.Context, string) error           { return nil }

type discardUpload struct{}

func (discardUpload) Write(p []byte) (int, error) { return len(p), nil }
func (discardUpload) Commit() error               { return nil }
func (discardUpload) Abort() error                { return nil }
