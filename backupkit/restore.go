package backupkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
	"github.com/covetgo/covet/internal/typednil"
)

// Target applies a restored stream: a PostgreSQL database, a directory, a
// file or any writer.
type Target interface {
	// Restore applies the uncompressed, decrypted backup read from r. A read
	// error (for example [ErrChecksum]) means the stream must not be used and
	// the target must undo what it can.
	Restore(ctx context.Context, r io.Reader, m Manifest) error
}

// Restore restores backup id (or the latest complete one when id is "")
// into dst.
//
// Verification comes before anything is applied: the whole object is read
// once and its hashes, decryption and decompression are checked against the
// manifest; only then is it read a second time and streamed into dst. This
// costs a second read of the object instead of a local copy: restore needs no
// scratch disk, and memory stays bounded. The second read is checked again,
// and should the object change between the two reads the stream fails with
// [ErrChecksum] at its end, before a transactional target (pg_restore and
// psql run in a single transaction) commits.
func (m *Manager) Restore(ctx context.Context, id string, dst Target) (Manifest, error) {
	if typednil.Is(dst) {
		return Manifest{}, fmt.Errorf("%w: Restore: nil dst", ErrInvalidConfig)
	}
	man, err := m.Get(ctx, id)
	if err != nil {
		return Manifest{}, err
	}
	if err := m.check(ctx, man, "verify", nil); err != nil {
		return man, err
	}
	err = m.check(ctx, man, "restore", func(r io.Reader) error { return dst.Restore(ctx, r, man) })
	return man, err
}

// Verification is what [Manager.Verify] found.
type Verification struct {
	Manifest Manifest
	// Contents is the table of contents of a PostgreSQL custom-format archive
	// (pg_restore --list), when the backup is one.
	Contents []string
}

// Verify re-reads backup id (or the latest when id is "") and checks it
// against its manifest: stored hash, and, when it can be decrypted, the
// compressed hash, the decompressed stream and its size. For a PostgreSQL
// custom-format archive it also lists the archive with pg_restore --list,
// which restores nothing. Without identities an encrypted backup is checked
// by its stored hash only.
func (m *Manager) Verify(ctx context.Context, id string) (Verification, error) {
	man, err := m.Get(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Manifest: man}
	if man.Encryption != "" && len(m.identities) == 0 {
		return v, m.checkStored(ctx, man)
	}
	if err := m.check(ctx, man, "verify", nil); err != nil {
		return v, err
	}
	if man.Kind == "postgres" && man.Format == "custom" {
		list, err := pgList(ctx, "", func(fn func(io.Reader) error) error { return m.check(ctx, man, "verify", fn) })
		if err != nil {
			return v, err
		}
		v.Contents = list
	}
	return v, nil
}

func (m *Manager) checkStored(ctx context.Context, man Manifest) error {
	rc, err := m.store.Open(ctx, man.Object)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("backupkit: read %s: %w", man.Object, err)
	}
	if n != man.StoredSize || hex.EncodeToString(h.Sum(nil)) != man.StoredSHA256 {
		return fmt.Errorf("backupkit: backup %s: stored data: %w", man.ID, ErrChecksum)
	}
	return nil
}

// check reads the object through decryption and decompression, hands the
// plain stream to apply (or discards it when apply is nil), and checks every
// hash and size. The stream handed to apply fails with ErrChecksum instead
// of ending cleanly when the object does not match the manifest.
func (m *Manager) check(ctx context.Context, man Manifest, op string, apply func(io.Reader) error) error {
	if man.Encryption != "" && len(m.identities) == 0 {
		return fmt.Errorf("backupkit: backup %s: %w", man.ID, ErrNoIdentity)
	}
	rc, err := m.store.Open(ctx, man.Object)
	if err != nil {
		return err
	}
	defer rc.Close()
	src := &storeReader{r: rc}
	stored := &hashReader{r: src, h: sha256.New(), size: man.StoredSize, sum: man.StoredSHA256}
	var dec io.Reader = stored
	if man.Encryption != "" {
		if dec, err = age.Decrypt(stored, m.identities...); err != nil {
			if src.err != nil {
				return fmt.Errorf("backupkit: read %s: %w", man.Object, src.err)
			}
			return fmt.Errorf("backupkit: backup %s: decrypt: %w: %w", man.ID, ErrChecksum, err)
		}
	}
	compressed := &hashReader{r: dec, h: sha256.New(), size: man.CompressedSize, sum: man.SHA256}
	plain, release, err := decompressor(man.Compression, compressed)
	if err != nil {
		if src.err != nil {
			return fmt.Errorf("backupkit: read %s: %w", man.Object, src.err)
		}
		return fmt.Errorf("backupkit: backup %s: %w", man.ID, err)
	}
	defer release()
	pr := &progressReader{r: &sizeReader{r: plain, size: man.Size, then: []*hashReader{compressed, stored}}, pw: progressWriter{w: io.Discard, m: m, op: op, start: m.now()}}

	if apply == nil {
		_, err = io.Copy(io.Discard, pr)
	} else {
		err = apply(pr)
	}
	if src.err != nil {
		return fmt.Errorf("backupkit: read %s: %w", man.Object, src.err)
	}
	if err == nil {
		pr.pw.report(true)
		return nil
	}
	if errors.Is(err, ErrChecksum) {
		return err
	}
	if apply == nil {
		// A broken compressed or encrypted stream is corrupt data.
		return fmt.Errorf("backupkit: backup %s: %w: %w", man.ID, ErrChecksum, err)
	}
	return err
}

// storeReader remembers the store's own read error, to tell an unreachable
// store from corrupt data.
type storeReader struct {
	r   io.Reader
	err error
}

func (s *storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// hashReader hashes what passes and, at the end of the stream, returns
// ErrChecksum instead of io.EOF when size or hash differ from the manifest.
type hashReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	sum  string
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.n > r.size {
		return n, fmt.Errorf("backupkit: %d bytes, manifest says %d: %w", r.n, r.size, ErrChecksum)
	}
	if err == io.EOF {
		if err := r.verify(); err != nil {
			return n, err
		}
	}
	return n, err
}

func (r *hashReader) verify() error {
	if r.n != r.size || hex.EncodeToString(r.h.Sum(nil)) != r.sum {
		return fmt.Errorf("backupkit: data does not match its manifest: %w", ErrChecksum)
	}
	return nil
}

// sizeReader checks the uncompressed size and, at its end, drains and
// checks the compressed stream underneath (a decompressor may stop before
// reading its input's last byte).
type sizeReader struct {
	r    io.Reader
	n    int64
	size int64
	then []*hashReader
}

func (r *sizeReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.size {
		return n, fmt.Errorf("backupkit: %d bytes, manifest says %d: %w", r.n, r.size, ErrChecksum)
	}
	if err == io.EOF {
		if r.n != r.size {
			return n, fmt.Errorf("backupkit: %d bytes, manifest says %d: %w", r.n, r.size, ErrChecksum)
		}
		for _, h := range r.then {
			if _, err := io.Copy(io.Discard, h); err != nil {
				return n, err
			}
			if err := h.verify(); err != nil {
				return n, err
			}
		}
	}
	return n, err
}

type progressReader struct {
	r  io.Reader
	pw progressWriter
}

func (r *progressReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.pw.n += int64(n)
	r.pw.tick()
	return n, err
}
