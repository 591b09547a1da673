package backupkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/covetgo/covet/testenv"
)

func testData(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("row ")
		b.WriteString(strings.Repeat("x", r.IntN(40)))
		b.WriteByte(byte('a' + r.IntN(26)))
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

func TestNewValidates(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	tests := []struct {
		name string
		opts []Option
		ok   bool
	}{
		{"defaults", nil, true},
		{"zstd", []Option{WithCompression(Zstd)}, true},
		{"none", []Option{WithCompression(NoCompression)}, true},
		{"age", []Option{WithRecipients(id.Recipient()), WithIdentities(id)}, true},
		{"unknown compression", []Option{WithCompression("brotli")}, false},
		{"gzip level", []Option{WithCompression(Gzip), WithCompressionLevel(12)}, false},
		{"zstd level", []Option{WithCompressionLevel(9)}, false},
		{"block", []Option{WithCompression(Gzip), WithBlockSize(10)}, false},
		{"concurrency", []Option{WithConcurrency(-1)}, false},
		{"block without gzip", []Option{WithBlockSize(1 << 20)}, false},
		{"level without compression", []Option{WithCompression(NoCompression), WithCompressionLevel(3)}, false},
		{"concurrency without compression", []Option{WithCompression(NoCompression), WithConcurrency(2)}, false},
		{"default level without compression", []Option{WithCompression(NoCompression), WithCompressionLevel(0)}, true},
		{"prefix", []Option{WithPrefix("../x")}, false},
		{"nil recipient", []Option{WithRecipients(nil)}, false},
		{"progress", []Option{WithProgress(func(Progress) {}, 0)}, true},
		{"nil progress", []Option{WithProgress(nil, time.Second)}, false},
		{"negative progress interval", []Option{WithProgress(func(Progress) {}, -time.Second)}, false},
		{"nil identity", []Option{WithIdentities(nil)}, false},
		{"typed nil identity", []Option{WithIdentities((*age.X25519Identity)(nil))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(newDirStore(t), tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%s) = %v; want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatal("New(nil) succeeded")
	}
	if _, err := New((*dirStore)(nil)); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil store") {
		t.Fatalf("New(typed nil store) = %v; want ErrInvalidConfig naming the store", err)
	}
}

// Typed-nil arguments are refused with an error naming the argument, never
// a panic deep inside an operation.
func TestNilArguments(t *testing.T) {
	ctx := context.Background()
	m := mustManager(t, newDirStore(t))
	var nilFile *os.File
	if _, err := m.Backup(ctx, (*readerSource)(nil)); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil src") {
		t.Errorf("Backup(typed nil) = %v; want ErrInvalidConfig naming src", err)
	}
	if _, err := m.Backup(ctx, NewReaderSource(nilFile, "")); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil reader") {
		t.Errorf("Backup(NewReaderSource(typed nil)) = %v; want ErrInvalidConfig naming the reader", err)
	}
	if _, err := m.Backup(ctx, NewReaderSource(strings.NewReader("x"), "")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, "", nil); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil dst") {
		t.Errorf("Restore(nil) = %v; want ErrInvalidConfig naming dst", err)
	}
	if _, err := m.Restore(ctx, "", NewWriterTarget(nilFile)); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil writer") {
		t.Errorf("Restore(NewWriterTarget(typed nil)) = %v; want ErrInvalidConfig naming the writer", err)
	}
	ok := NewWriterTarget(io.Discard)
	if _, err := m.RestoreChecked(ctx, "", (*dirTarget)(nil), func(context.Context) error { return nil }, ok); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil scratch") {
		t.Errorf("RestoreChecked(typed nil scratch) = %v; want ErrInvalidConfig naming scratch", err)
	}
}

func TestRoundTrip(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := testData(3 << 20)
	tests := []struct {
		name string
		opts []Option
	}{
		{"defaults (zstd)", nil},
		{"gzip", []Option{WithCompression(Gzip)}},
		{"gzip small blocks", []Option{WithCompression(Gzip), WithBlockSize(64 << 10), WithConcurrency(3), WithCompressionLevel(1)}},
		{"zstd best", []Option{WithCompression(Zstd), WithCompressionLevel(4)}},
		{"none", []Option{WithCompression(NoCompression)}},
		{"gzip age", []Option{WithCompression(Gzip), WithRecipients(id.Recipient()), WithIdentities(id)}},
		{"zstd age prefix", []Option{WithCompression(Zstd), WithRecipients(id.Recipient()), WithIdentities(id), WithPrefix("app/")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := mustManager(t, newDirStore(t), tt.opts...)
			man, err := m.Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if man.Size != int64(len(data)) || man.Kind != "stream" {
				t.Fatalf("manifest = %+v", man)
			}
			var out bytes.Buffer
			got, err := m.Restore(ctx, "", NewWriterTarget(&out))
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got.ID != man.ID {
				t.Fatalf("Restore restored %s; want %s", got.ID, man.ID)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("restored %d bytes differ from the %d backed up", out.Len(), len(data))
			}
			if _, err := m.Verify(ctx, man.ID); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// flipByte changes one byte in the middle of a stored object.
func flipByte(t *testing.T, s *dirStore, name string, at func(size int64) int64) {
	t.Helper()
	rc, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[at(int64(len(b)))] ^= 0x01
	up, err := s.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestFlippedByteRefused(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	data := testData(1 << 20)
	positions := map[string]func(int64) int64{
		"first":  func(int64) int64 { return 0 },
		"middle": func(n int64) int64 { return n / 2 },
		"last":   func(n int64) int64 { return n - 1 },
	}
	for _, comp := range []Compression{Gzip, Zstd, NoCompression} {
		for _, enc := range []bool{false, true} {
			for pos, at := range positions {
				name := string(comp) + "/" + pos
				if enc {
					name += "/age"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					s := newDirStore(t)
					opts := []Option{WithCompression(comp)}
					if enc {
						opts = append(opts, WithRecipients(id.Recipient()), WithIdentities(id))
					}
					m := mustManager(t, s, opts...)
					man, err := m.Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
					if err != nil {
						t.Fatal(err)
					}
					flipByte(t, s, man.Object, at)
					applied := false
					_, err = m.Restore(ctx, man.ID, targetFunc(func(ctx context.Context, r io.Reader, m Manifest) error {
						applied = true
						_, err := io.Copy(io.Discard, r)
						return err
					}))
					if !errors.Is(err, ErrChecksum) {
						t.Fatalf("Restore after a flipped byte = %v; want ErrChecksum", err)
					}
					if applied {
						t.Fatal("Restore handed a corrupt stream to the target")
					}
					if _, err := m.Verify(ctx, man.ID); !errors.Is(err, ErrChecksum) {
						t.Fatalf("Verify after a flipped byte = %v; want ErrChecksum", err)
					}
				})
			}
		}
	}
}

type targetFunc func(ctx context.Context, r io.Reader, m Manifest) error

func (f targetFunc) Restore(ctx context.Context, r io.Reader, m Manifest) error { return f(ctx, r, m) }

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestSourceFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	m := mustManager(t, s)
	boom := errors.New("disk on fire")
	_, err := m.Backup(ctx, NewReaderSource(&failingReader{data: testData(2 << 20), err: boom}, ""))
	if !errors.Is(err, ErrSourceFailed) || !errors.Is(err, boom) {
		t.Fatalf("Backup with a failing source = %v; want ErrSourceFailed wrapping the cause", err)
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Fatalf("store holds %v after a failed backup; want nothing", objs)
	}
	if _, err := m.Get(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Latest = %v; want ErrNotFound", err)
	}
	if _, err := m.Backup(ctx, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatal("Backup(nil) succeeded")
	}
	// A cancelled context aborts too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Backup(cctx, NewReaderSource(bytes.NewReader([]byte("x")), "")); err == nil {
		t.Fatal("Backup with a cancelled context succeeded")
	}
}

func TestEncryptedNeedsIdentity(t *testing.T) {
	ctx := context.Background()
	id, _ := age.GenerateX25519Identity()
	s := newDirStore(t)
	m := mustManager(t, s, WithRecipients(id.Recipient()))
	man, err := m.Backup(ctx, NewReaderSource(bytes.NewReader([]byte("secret")), ""))
	if err != nil {
		t.Fatal(err)
	}
	if man.Encryption != "age" {
		t.Fatalf("Encryption = %q; want age", man.Encryption)
	}
	if _, err := m.Restore(ctx, "", NewWriterTarget(io.Discard)); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Restore without identity = %v; want ErrNoIdentity", err)
	}
	// Without the key, Verify still checks the stored bytes.
	if _, err := m.Verify(ctx, ""); err != nil {
		t.Fatalf("Verify without identity = %v", err)
	}
	flipByte(t, s, man.Object, func(n int64) int64 { return n / 2 })
	if _, err := m.Verify(ctx, ""); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Verify without identity after a flipped byte = %v; want ErrChecksum", err)
	}
	other, _ := age.GenerateX25519Identity()
	m2 := mustManager(t, newDirStore(t), WithRecipients(id.Recipient()), WithIdentities(other))
	if _, err := m2.Backup(ctx, NewReaderSource(bytes.NewReader([]byte("secret")), "")); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Restore(ctx, "", NewWriterTarget(io.Discard)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Restore with the wrong identity = %v; want ErrChecksum", err)
	}
}

func TestProgress(t *testing.T) {
	ctx := context.Background()
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var reports []Progress
	m := mustManager(t, newDirStore(t), WithProgress(func(p Progress) {
		reports = append(reports, p)
		clock.Add(time.Second)
	}, time.Second))
	m.now = clock.Now
	data := testData(1 << 20)
	// Each read moves the clock a second, so each write reports.
	src := NewReaderSource(&tickReader{r: bytes.NewReader(data), clock: clock}, "")
	if _, err := m.Backup(ctx, src); err != nil {
		t.Fatal(err)
	}
	if len(reports) < 2 {
		t.Fatalf("got %d progress reports; want several", len(reports))
	}
	last := reports[len(reports)-1]
	if !last.Done || last.Bytes != int64(len(data)) || last.Op != "backup" || last.Rate <= 0 {
		t.Fatalf("last report = %+v", last)
	}
	reports = nil
	if _, err := m.Restore(ctx, "", NewWriterTarget(io.Discard)); err != nil {
		t.Fatal(err)
	}
	last = reports[len(reports)-1]
	if !last.Done || last.Bytes != int64(len(data)) || last.Op != "restore" {
		t.Fatalf("last restore report = %+v", last)
	}
}

type tickReader struct {
	r     io.Reader
	clock *testenv.Clock
}

func (r *tickReader) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	r.clock.Add(time.Second)
	return r.r.Read(p)
}

func TestGetAndLatest(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	clock := testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	m := mustManager(t, s)
	m.now = clock.Now
	if _, err := m.Get(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Latest on an empty store = %v; want ErrNotFound", err)
	}
	var ids []string
	for i := range 3 {
		man, err := m.Backup(ctx, NewReaderSource(strings.NewReader(strings.Repeat("a", i+1)), ""))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, man.ID)
		clock.Add(time.Hour)
	}
	// An incomplete newer backup (data without manifest) is never latest.
	up, _ := s.Create(ctx, newID(clock.Now())+dataSuffix)
	_, _ = up.Write([]byte("partial"))
	_ = up.Commit()
	// Unrelated objects are ignored.
	up, _ = s.Create(ctx, "README.txt")
	_ = up.Commit()

	latest, err := m.Get(ctx, "")
	if err != nil || latest.ID != ids[2] {
		t.Fatalf("Latest = %v, %v; want %s", latest.ID, err, ids[2])
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 3 || list[0].ID != ids[2] || list[2].ID != ids[0] {
		t.Fatalf("List = %v, %v", list, err)
	}
	got, err := m.Get(ctx, ids[0])
	if err != nil || got.Size != 1 {
		t.Fatalf("Get(%s) = %+v, %v", ids[0], got, err)
	}
	for _, bad := range []string{"nope", "../x", "a/b"} {
		if _, err := m.Get(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) = %v; want ErrNotFound", bad, err)
		}
	}
	if _, err := m.Restore(ctx, "", nil); err == nil {
		t.Fatal("Restore into nil succeeded")
	}
}

// TestRestoreAcrossCompressions restores a gzip backup (the default of
// earlier releases) with a Manager left at today's default, and the other
// way round: the manifest, not the Manager, decides how to decompress.
func TestRestoreAcrossCompressions(t *testing.T) {
	ctx := context.Background()
	data := testData(1 << 20)
	store := newDirStore(t)
	for _, tc := range []struct{ write, read []Option }{
		{[]Option{WithCompression(Gzip)}, nil},
		{nil, []Option{WithCompression(Gzip)}},
	} {
		man, err := mustManager(t, store, tc.write...).Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := mustManager(t, store, tc.read...).Restore(ctx, man.ID, NewWriterTarget(&got)); err != nil {
			t.Fatalf("Restore of a %s backup: %v", man.Compression, err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("%s backup restored %d bytes; want the %d written", man.Compression, got.Len(), len(data))
		}
	}
}
