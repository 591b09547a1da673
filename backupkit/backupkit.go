package backupkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/covetgo/covet/internal/typednil"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Errors callers can branch on with [errors.Is].
var (
	// ErrNotFound: no such backup, or no complete backup at all.
	ErrNotFound = errors.New("backupkit: not found")
	// ErrChecksum: stored data does not match its manifest. Nothing was applied.
	ErrChecksum = errors.New("backupkit: checksum mismatch")
	// ErrSourceFailed: the source (pg_dump, redis-cli, a reader) failed; the
	// upload was aborted and no manifest was written.
	ErrSourceFailed = errors.New("backupkit: source failed")
	// ErrUnsafePath: a name or archive entry would escape its directory.
	ErrUnsafePath = errors.New("backupkit: unsafe path")
	// ErrNoIdentity: the backup is encrypted and no age identity was given.
	ErrNoIdentity = errors.New("backupkit: backup is encrypted and no identity was given")
	// ErrWrongKind: the backup's kind or format does not fit the target.
	ErrWrongKind = errors.New("backupkit: backup does not fit this target")
	// ErrTargetNotEmpty: a restore target directory or file already exists.
	ErrTargetNotEmpty = errors.New("backupkit: restore target already exists")
	// ErrInvalidConfig is wrapped by every error caused by a bad argument or
	// option given to a constructor or to a [Manager] method.
	ErrInvalidConfig = errors.New("backupkit: invalid configuration")
)

// Compression names a compression format.
type Compression string

// Compression formats. Every backup's manifest records its compression, and
// a restore reads it from there, so changing the compression (or the
// default) never affects backups already stored.
const (
	// Gzip is parallel gzip (klauspost/pgzip): readable by gunzip, and as
	// fast as the cores allow. The default before Zstd.
	Gzip Compression = "gzip"
	// Zstd is Zstandard (klauspost/compress): the default. At its default
	// (fastest) level it takes a fraction of gzip's CPU time and its output
	// is about a quarter smaller than gzip -6's on pg_dump output; "zstd -d"
	// reads it.
	Zstd Compression = "zstd"
	// NoCompression stores the stream as it comes.
	NoCompression Compression = "none"
)

// Source produces the raw backup stream.
type Source interface {
	// Backup writes the whole backup to w and returns nil only when the
	// producer finished successfully (for a process: it exited 0).
	Backup(ctx context.Context, w io.Writer) (SourceInfo, error)
}

// SourceInfo describes what a [Source] produced, for the manifest.
type SourceInfo struct {
	Kind          string // "postgres", "tar", "redis", "stream"
	Format        string // "custom", "plain", "tar", "rdb", …
	Database      string
	Tool          string
	ToolVersion   string
	ServerVersion string
}

// Progress reports how far a backup or restore has come.
type Progress struct {
	// Op is "backup", "verify" or "restore".
	Op string
	// Bytes is the uncompressed bytes so far.
	Bytes int64
	// Elapsed is the time since the operation started.
	Elapsed time.Duration
	// Rate is Bytes per second over Elapsed.
	Rate float64
	// Done is true on the last report.
	Done bool
}

// Manager runs backups into one [Store] and restores, verifies and prunes
// them. It is safe for concurrent use.
type Manager struct {
	store       Store
	prefix      string
	comp        Compression
	level       int
	conc        int
	block       int
	recipients  []age.Recipient
	identities  []age.Identity
	progress    func(Progress)
	every       time.Duration
	now         func() time.Time
	blockSet    bool // WithBlockSize was given
	concSet     bool // WithConcurrency was given
	progressSet bool // WithProgress was given
}

// Option configures a [Manager].
type Option func(*Manager)

// WithCompression chooses the compression: [Zstd] (default), [Gzip] or
// [NoCompression]. Restores read the compression from each backup's
// manifest, so backups made with another compression (older gzip backups
// included) restore the same way.
func WithCompression(c Compression) Option { return func(m *Manager) { m.comp = c } }

// WithCompressionLevel sets the level: 1–9 for gzip (default 6, as gzip's),
// 1–4 for zstd (fastest, default, better, best; default 1, fastest: a
// backup should cost little more than the dump itself); 0 means the
// default. A level with [NoCompression] is refused.
func WithCompressionLevel(level int) Option { return func(m *Manager) { m.level = level } }

// WithConcurrency sets how many blocks compress at once (default GOMAXPROCS).
// With [WithBlockSize] it bounds the compressor's memory: about block size ×
// concurrency × 2. It is refused with [NoCompression].
func WithConcurrency(n int) Option { return func(m *Manager) { m.conc, m.concSet = n, true } }

// WithBlockSize sets the gzip block size in bytes (default 1 MiB, at least
// 64 KiB). It is refused with any compression but [Gzip].
func WithBlockSize(n int) Option { return func(m *Manager) { m.block, m.blockSet = n, true } }

// WithRecipients encrypts backups to the given age recipients.
func WithRecipients(r ...age.Recipient) Option {
	return func(m *Manager) { m.recipients = append(m.recipients, r...) }
}

// WithIdentities gives the age identities that decrypt encrypted backups for
// restore and verify.
func WithIdentities(id ...age.Identity) Option {
	return func(m *Manager) { m.identities = append(m.identities, id...) }
}

// WithProgress calls fn at most every interval (default 500ms when interval
// is 0) while data flows, and once more when an operation ends. fn runs on
// the goroutine moving the data and must return quickly. fn must not be nil
// nor interval negative.
func WithProgress(fn func(Progress), interval time.Duration) Option {
	return func(m *Manager) { m.progress, m.every, m.progressSet = fn, interval, true }
}

// WithPrefix names backups with a prefix (for example "db/" or "uploads-"),
// so that several backup sets share one store and each is listed, restored
// and pruned on its own.
func WithPrefix(p string) Option { return func(m *Manager) { m.prefix = p } }

// New returns a Manager for store. Defaults: zstd at its fastest level with
// GOMAXPROCS encoders (gzip: blocks of 1 MiB), no encryption.
func New(store Store, opts ...Option) (*Manager, error) {
	if typednil.Is(store) {
		return nil, fmt.Errorf("%w: New: nil store", ErrInvalidConfig)
	}
	m := &Manager{store: store, comp: Zstd, conc: runtime.GOMAXPROCS(0), block: 1 << 20, every: 500 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	switch m.comp {
	case Gzip:
		if m.level == 0 {
			m.level = 6
		}
		if m.level < 1 || m.level > 9 {
			return nil, fmt.Errorf("%w: gzip level %d is outside 1–9", ErrInvalidConfig, m.level)
		}
		if m.block < 64<<10 {
			return nil, fmt.Errorf("%w: block size %d is under 64 KiB", ErrInvalidConfig, m.block)
		}
	case Zstd:
		if m.level == 0 {
			m.level = int(zstd.SpeedFastest)
		}
		if m.level < int(zstd.SpeedFastest) || m.level > int(zstd.SpeedBestCompression) {
			return nil, fmt.Errorf("%w: zstd level %d is outside 1–4", ErrInvalidConfig, m.level)
		}
	case NoCompression:
		if m.level != 0 || m.concSet {
			return nil, fmt.Errorf("%w: a compression level or concurrency with no compression", ErrInvalidConfig)
		}
	default:
		return nil, fmt.Errorf("%w: unknown compression %q", ErrInvalidConfig, m.comp)
	}
	if m.blockSet && m.comp != Gzip {
		return nil, fmt.Errorf("%w: WithBlockSize applies to gzip only", ErrInvalidConfig)
	}
	if m.conc < 1 {
		return nil, fmt.Errorf("%w: concurrency %d is under 1", ErrInvalidConfig, m.conc)
	}
	if m.progressSet && (m.progress == nil || m.every < 0) {
		return nil, fmt.Errorf("%w: WithProgress needs a function and an interval ≥ 0", ErrInvalidConfig)
	}
	if m.every == 0 {
		m.every = 500 * time.Millisecond
	}
	if m.prefix != "" && (strings.Contains(m.prefix, "..") || strings.HasPrefix(m.prefix, "/")) {
		return nil, fmt.Errorf("%w: invalid prefix %q", ErrInvalidConfig, m.prefix)
	}
	for _, r := range m.recipients {
		if typednil.Is(r) {
			return nil, fmt.Errorf("%w: nil age recipient", ErrInvalidConfig)
		}
	}
	for _, id := range m.identities {
		if typednil.Is(id) {
			return nil, fmt.Errorf("%w: nil age identity", ErrInvalidConfig)
		}
	}
	return m, nil
}

const (
	dataSuffix     = ".backup"
	manifestSuffix = ".manifest.json"
	idLayout       = "20060102T150405.000Z"
)

func newID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:])
}

// idTime parses the time an ID starts with.
func idTime(id string) (time.Time, bool) {
	if len(id) < len(idLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(idLayout, id[:len(idLayout)])
	return t, err == nil
}

// Backup streams src through compression, hashing and optional encryption
// into the store, then writes the manifest. Nothing touches local disk on the
// way. The data object is committed only when src returns nil; on any
// failure the upload is aborted, no manifest is written, and the error wraps
// the cause ([ErrSourceFailed] when the source failed).
func (m *Manager) Backup(ctx context.Context, src Source) (Manifest, error) {
	if typednil.Is(src) {
		return Manifest{}, fmt.Errorf("%w: Backup: nil src", ErrInvalidConfig)
	}
	start := m.now()
	id := newID(start)
	p, err := m.newPipeline(ctx, m.prefix+id+dataSuffix, start)
	if err != nil {
		return Manifest{}, err
	}
	info, err := src.Backup(ctx, p.raw)
	if err != nil {
		return Manifest{}, p.sourceFailed(err)
	}
	if err := p.commit(ctx); err != nil {
		return Manifest{}, err
	}
	p.raw.report(true)
	man := m.newManifest(id, start, info, p)
	if err := m.writeManifest(ctx, man); err != nil {
		// Without its manifest the data is an incomplete backup; remove it
		// now rather than wait for retention.
		_ = m.store.Delete(context.WithoutCancel(ctx), man.Object)
		return Manifest{}, err
	}
	return man, nil
}

// pipeline is the chain a backup's bytes pass through, source side first:
// progress and size (raw), compression, the hash of the compressed stream,
// encryption, the hash of the stored bytes, and the store's upload.
type pipeline struct {
	up         Upload
	sink       *errWriter
	stored     *hashWriter
	enc        io.WriteCloser
	compressed *hashWriter
	cw         io.WriteCloser
	raw        *progressWriter
}

// newPipeline starts the upload of object name and builds the chain in front
// of it.
func (m *Manager) newPipeline(ctx context.Context, name string, start time.Time) (*pipeline, error) {
	up, err := m.store.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	p := &pipeline{up: up, sink: &errWriter{w: up}}
	p.stored = &hashWriter{w: p.sink, h: sha256.New()}
	p.enc = nopWriteCloser{p.stored}
	if len(m.recipients) > 0 {
		if p.enc, err = age.Encrypt(p.stored, m.recipients...); err != nil {
			_ = up.Abort()
			return nil, fmt.Errorf("backupkit: encrypt: %w", err)
		}
	}
	p.compressed = &hashWriter{w: p.enc, h: sha256.New()}
	if p.cw, err = m.compressor(p.compressed); err != nil {
		_ = up.Abort()
		return nil, err
	}
	p.raw = &progressWriter{w: p.cw, m: m, op: "backup", start: start}
	return p, nil
}

// sourceFailed aborts the upload after the source returned err and says
// whose fault it was: the store's when its upload had failed, else the
// source's ([ErrSourceFailed]).
func (p *pipeline) sourceFailed(err error) error {
	// Stop the compressor's goroutines before the upload goes away under
	// them; what they flush is discarded by the abort.
	_ = p.cw.Close()
	_ = p.up.Abort()
	if werr := p.sink.failed(); werr != nil {
		// The source stopped because the store did.
		return fmt.Errorf("backupkit: store: %w", werr)
	}
	if !errors.Is(err, ErrSourceFailed) {
		err = fmt.Errorf("%w: %w", ErrSourceFailed, err)
	}
	return err
}

// commit flushes the compressor and the encryption and commits the upload,
// or aborts it.
func (p *pipeline) commit(ctx context.Context) error {
	err := p.cw.Close()
	if err == nil {
		err = p.enc.Close()
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = p.up.Abort()
		return fmt.Errorf("backupkit: backup: %w", err)
	}
	return p.up.Commit()
}

// newManifest describes the backup p has just committed.
func (m *Manager) newManifest(id string, start time.Time, info SourceInfo, p *pipeline) Manifest {
	man := Manifest{
		Version:        manifestVersion,
		ID:             id,
		Time:           start.UTC(),
		Duration:       m.now().Sub(start),
		Kind:           info.Kind,
		Format:         info.Format,
		Database:       info.Database,
		Tool:           info.Tool,
		ToolVersion:    info.ToolVersion,
		ServerVersion:  info.ServerVersion,
		Object:         m.prefix + id + dataSuffix,
		Size:           p.raw.n,
		CompressedSize: p.compressed.n,
		StoredSize:     p.stored.n,
		SHA256:         hex.EncodeToString(p.compressed.h.Sum(nil)),
		StoredSHA256:   hex.EncodeToString(p.stored.h.Sum(nil)),
		Compression:    m.comp,
	}
	if len(m.recipients) > 0 {
		man.Encryption = "age"
	}
	return man
}

func (m *Manager) compressor(w io.Writer) (io.WriteCloser, error) {
	switch m.comp {
	case Gzip:
		zw, err := pgzip.NewWriterLevel(w, m.level)
		if err != nil {
			return nil, fmt.Errorf("backupkit: gzip: %w", err)
		}
		if err := zw.SetConcurrency(m.block, m.conc); err != nil {
			return nil, fmt.Errorf("backupkit: gzip: %w", err)
		}
		return zw, nil
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevel(m.level)), zstd.WithEncoderConcurrency(m.conc))
		if err != nil {
			return nil, fmt.Errorf("backupkit: zstd: %w", err)
		}
		return zw, nil
	}
	return nopWriteCloser{w}, nil
}

// decompressor returns a reader of the uncompressed stream and a function
// that releases its goroutines.
func decompressor(c Compression, r io.Reader) (io.Reader, func(), error) {
	switch c {
	case Gzip:
		zr, err := pgzip.NewReaderN(r, 1<<20, 4)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: gzip: %w", ErrChecksum, err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("backupkit: zstd: %w", err)
		}
		return zr, zr.Close, nil
	case NoCompression, "":
		return r, func() {}, nil
	}
	return nil, nil, fmt.Errorf("backupkit: unknown compression %q", c)
}

// errWriter remembers the first write error of the store's upload, to tell
// a failing store from a failing source.
type errWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *errWriter) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

type progressWriter struct {
	w     io.Writer
	m     *Manager
	op    string
	start time.Time
	last  time.Time
	n     int64
}

func (w *progressWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += int64(n)
	w.tick()
	return n, err
}

func (w *progressWriter) tick() {
	if w.m.progress == nil {
		return
	}
	if now := w.m.now(); now.Sub(w.last) >= w.m.every {
		w.last = now
		w.report(false)
	}
}

func (w *progressWriter) report(done bool) {
	if w.m.progress == nil {
		return
	}
	el := w.m.now().Sub(w.start)
	p := Progress{Op: w.op, Bytes: w.n, Elapsed: el, Done: done}
	if el > 0 {
		p.Rate = float64(w.n) / el.Seconds()
	}
	w.m.progress(p)
}
