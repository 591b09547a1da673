package backupkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// rewrite replaces a committed object with edit(its bytes).
func rewrite(t *testing.T, s Store, name string, edit func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	rc, err := s.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(edit(b)); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites a backup's manifest through edit.
func editManifest(t *testing.T, s Store, man Manifest, edit func(*Manifest)) {
	t.Helper()
	rewrite(t, s, strings.TrimSuffix(man.Object, dataSuffix)+manifestSuffix, func([]byte) []byte {
		edit(&man)
		b, err := json.Marshal(man)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// neverTarget fails the test when a restore hands it a stream.
func neverTarget(t *testing.T) Target {
	return targetFunc(func(context.Context, io.Reader, Manifest) error {
		t.Error("the target was handed a stream of a damaged backup")
		return nil
	})
}

// A backup damaged in the store (truncated, extended) or whose manifest no
// longer fits its data is refused with ErrChecksum by Restore and Verify,
// and nothing reaches the target.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := testData(256 << 10)
	configs := map[string][]Option{
		"zstd": nil,
		"gzip": {WithCompression(Gzip)},
		"none": {WithCompression(NoCompression)},
		"age":  {WithRecipients(id.Recipient()), WithIdentities(id)},
	}
	cut := func(keep func(n int) int) func([]byte) []byte {
		return func(b []byte) []byte { return b[:keep(len(b))] }
	}
	tests := []struct {
		name     string
		data     func([]byte) []byte // edits the data object
		manifest func(*Manifest)     // edits the manifest
	}{
		{"emptied", cut(func(int) int { return 0 }), nil},
		{"truncated to its first bytes", cut(func(int) int { return 20 }), nil},
		{"truncated by half", cut(func(n int) int { return n / 2 }), nil},
		{"last byte cut", cut(func(n int) int { return n - 1 }), nil},
		{"byte appended", func(b []byte) []byte { return append(b, 0) }, nil},
		{"another backup's data", func([]byte) []byte { return []byte("something else entirely") }, nil},
		{"size one less", nil, func(m *Manifest) { m.Size-- }},
		{"size one more", nil, func(m *Manifest) { m.Size++ }},
		{"compressed size one less", nil, func(m *Manifest) { m.CompressedSize-- }},
		{"stored size one more", nil, func(m *Manifest) { m.StoredSize++ }},
		{"hash of another stream", nil, func(m *Manifest) { m.SHA256 = strings.Repeat("0", 64) }},
		{"stored hash of another stream", nil, func(m *Manifest) { m.StoredSHA256 = strings.Repeat("0", 64) }},
	}
	for cname, opts := range configs {
		for _, tt := range tests {
			t.Run(cname+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				s := newDirStore(t)
				m := mustManager(t, s, opts...)
				man, err := m.Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
				if err != nil {
					t.Fatal(err)
				}
				if tt.data != nil {
					rewrite(t, s, man.Object, tt.data)
				}
				if tt.manifest != nil {
					editManifest(t, s, man, tt.manifest)
				}
				if _, err := m.Restore(ctx, man.ID, neverTarget(t)); !errors.Is(err, ErrChecksum) {
					t.Fatalf("Restore = %v; want ErrChecksum", err)
				}
				if _, err := m.Verify(ctx, man.ID); !errors.Is(err, ErrChecksum) {
					t.Fatalf("Verify = %v; want ErrChecksum", err)
				}
			})
		}
	}
}

// A manifest that cannot be read as one (cut short, not JSON, or naming
// another backup) makes that backup unusable with ErrChecksum, and List,
// which reads every manifest, says so too.
func TestDamagedManifest(t *testing.T) {
	tests := []struct {
		name string
		edit func(b []byte, other Manifest) []byte
	}{
		{"truncated", func(b []byte, _ Manifest) []byte { return b[:len(b)/2] }},
		{"empty", func([]byte, Manifest) []byte { return nil }},
		{"not JSON", func([]byte, Manifest) []byte { return []byte("<html>503</html>") }},
		{"wrong type", func([]byte, Manifest) []byte { return []byte(`{"size": "big"}`) }},
		{"another backup's", func(_ []byte, other Manifest) []byte {
			b, _ := json.Marshal(other)
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newDirStore(t)
			m := mustManager(t, s)
			other, err := m.Backup(ctx, NewReaderSource(strings.NewReader("older"), ""))
			if err != nil {
				t.Fatal(err)
			}
			man, err := m.Backup(ctx, NewReaderSource(strings.NewReader("newer"), ""))
			if err != nil {
				t.Fatal(err)
			}
			rewrite(t, s, man.ID+manifestSuffix, func(b []byte) []byte { return tt.edit(b, other) })
			if _, err := m.Get(ctx, man.ID); !errors.Is(err, ErrChecksum) {
				t.Errorf("Get = %v; want ErrChecksum", err)
			}
			if _, err := m.Restore(ctx, man.ID, neverTarget(t)); !errors.Is(err, ErrChecksum) {
				t.Errorf("Restore = %v; want ErrChecksum", err)
			}
			if _, err := m.List(ctx); !errors.Is(err, ErrChecksum) {
				t.Errorf("List = %v; want ErrChecksum", err)
			}
			// The intact backup still restores.
			var out bytes.Buffer
			if _, err := m.Restore(ctx, other.ID, NewWriterTarget(&out)); err != nil || out.String() != "older" {
				t.Errorf("Restore of the intact backup = %q, %v", out.String(), err)
			}
		})
	}
}

// A store that cannot be read is not corrupt data: the error wraps the
// store's own, never ErrChecksum, whether it fails before the first byte or
// midway, and the target sees nothing.
func TestRestoreStoreReadError(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := testData(256 << 10)
	configs := map[string][]Option{
		"zstd": nil,
		"gzip": {WithCompression(Gzip)},
		"none": {WithCompression(NoCompression)},
		"age":  {WithRecipients(id.Recipient()), WithIdentities(id)},
	}
	for cname, opts := range configs {
		for _, at := range []struct {
			name  string
			after func(stored int64) int64
		}{
			{"first byte", func(int64) int64 { return 0 }},
			{"header", func(int64) int64 { return 5 }},
			{"midway", func(n int64) int64 { return n / 2 }},
			{"last byte", func(n int64) int64 { return n - 1 }},
		} {
			t.Run(cname+"/"+at.name, func(t *testing.T) {
				ctx := context.Background()
				ds := newDirStore(t)
				man, err := mustManager(t, ds, opts...).Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
				if err != nil {
					t.Fatal(err)
				}
				m := mustManager(t, &faultStore{Store: ds, op: "read", suffix: dataSuffix, after: at.after(man.StoredSize)}, opts...)
				_, err = m.Restore(ctx, man.ID, neverTarget(t))
				if !errors.Is(err, errFault) || errors.Is(err, ErrChecksum) {
					t.Fatalf("Restore = %v; want the store's error, not ErrChecksum", err)
				}
				_, err = m.Verify(ctx, man.ID)
				if !errors.Is(err, errFault) || errors.Is(err, ErrChecksum) {
					t.Fatalf("Verify = %v; want the store's error, not ErrChecksum", err)
				}
			})
		}
	}
	// Without identities an encrypted backup is verified by its stored
	// hash alone; a read error there is the store's too.
	ctx := context.Background()
	ds := newDirStore(t)
	man, err := mustManager(t, ds, WithRecipients(id.Recipient())).Backup(ctx, NewReaderSource(bytes.NewReader(data), ""))
	if err != nil {
		t.Fatal(err)
	}
	m := mustManager(t, &faultStore{Store: ds, op: "read", suffix: dataSuffix, after: 1000})
	if _, err := m.Verify(ctx, man.ID); !errors.Is(err, errFault) || errors.Is(err, ErrChecksum) {
		t.Fatalf("Verify without identity = %v; want the store's error", err)
	}
}

// A backup whose data object is gone (deleted by hand, or by a lifecycle
// rule on the bucket) is ErrNotFound, not corrupt.
func TestRestoreMissingData(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		write []Option
		read  []Option
	}{
		{"plain", nil, nil},
		{"encrypted, no identity", []Option{WithRecipients(id.Recipient())}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newDirStore(t)
			man, err := mustManager(t, s, tt.write...).Backup(ctx, NewReaderSource(strings.NewReader("data"), ""))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, man.Object); err != nil {
				t.Fatal(err)
			}
			m := mustManager(t, s, tt.read...)
			if _, err := m.Verify(ctx, man.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("Verify = %v; want ErrNotFound", err)
			}
			if tt.read == nil && tt.write == nil {
				if _, err := m.Restore(ctx, man.ID, neverTarget(t)); !errors.Is(err, ErrNotFound) {
					t.Errorf("Restore = %v; want ErrNotFound", err)
				}
			}
			// Without its data the backup is incomplete: never the latest.
			if _, err := m.Get(ctx, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get latest = %v; want ErrNotFound", err)
			}
		})
	}
}

// A manifest naming a compression this version does not know (written by a
// newer release, or edited) is refused before the target sees anything.
func TestRestoreUnknownCompression(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	m := mustManager(t, s)
	man, err := m.Backup(ctx, NewReaderSource(strings.NewReader("data"), ""))
	if err != nil {
		t.Fatal(err)
	}
	editManifest(t, s, man, func(m *Manifest) { m.Compression = "brotli" })
	if _, err := m.Restore(ctx, man.ID, neverTarget(t)); err == nil || !strings.Contains(err.Error(), `unknown compression "brotli"`) {
		t.Fatalf("Restore = %v; want an unknown compression error", err)
	}
}
