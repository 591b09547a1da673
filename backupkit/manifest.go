package backupkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/covetgo/covet/backupkit/internal/objname"
)

const manifestVersion = 1

// Manifest describes one complete backup. It is written last, as
// <prefix><id>.manifest.json next to the data object <prefix><id>.backup; a
// backup without its manifest is incomplete and is never restored as latest.
type Manifest struct {
	Version  int           `json:"version"`
	ID       string        `json:"id"`
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration_ns"`
	Kind     string        `json:"kind"`
	Format   string        `json:"format,omitempty"`
	Database string        `json:"database,omitempty"`
	// Tool and ToolVersion name the program that produced the stream
	// (pg_dump, redis-cli); ServerVersion is the server it read from.
	Tool          string `json:"tool,omitempty"`
	ToolVersion   string `json:"tool_version,omitempty"`
	ServerVersion string `json:"server_version,omitempty"`
	// Object is the data object's name in the store.
	Object string `json:"object"`
	// Size is the uncompressed size, CompressedSize the size after
	// compression, StoredSize the size in the store (after encryption).
	Size           int64 `json:"size"`
	CompressedSize int64 `json:"compressed_size"`
	StoredSize     int64 `json:"stored_size"`
	// SHA256 is the hex SHA-256 of the compressed stream (before
	// encryption); StoredSHA256 that of the stored bytes, which can be
	// checked without the decryption key.
	SHA256       string      `json:"sha256"`
	StoredSHA256 string      `json:"stored_sha256"`
	Compression  Compression `json:"compression"`
	// Encryption is "age" or empty.
	Encryption string `json:"encryption,omitempty"`
}

func (m *Manager) writeManifest(ctx context.Context, man Manifest) error {
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("backupkit: manifest: %w", err)
	}
	up, err := m.store.Create(ctx, m.prefix+man.ID+manifestSuffix)
	if err != nil {
		return err
	}
	if _, err := up.Write(append(b, '\n')); err != nil {
		_ = up.Abort()
		return fmt.Errorf("backupkit: manifest: %w", err)
	}
	return up.Commit()
}

func (m *Manager) readManifest(ctx context.Context, id string) (Manifest, error) {
	if !objname.Valid(m.prefix+id+manifestSuffix) || strings.Contains(id, "/") {
		return Manifest{}, fmt.Errorf("backupkit: backup %q: %w", id, ErrNotFound)
	}
	rc, err := m.store.Open(ctx, m.prefix+id+manifestSuffix)
	if err != nil {
		return Manifest{}, err
	}
	defer rc.Close()
	var man Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&man); err != nil {
		return Manifest{}, fmt.Errorf("backupkit: manifest %s: %w", id, err)
	}
	if man.ID != id || man.Object != m.prefix+id+dataSuffix {
		return Manifest{}, fmt.Errorf("backupkit: manifest %s names another backup: %w", id, ErrChecksum)
	}
	return man, nil
}

// entry is one backup as seen in the store listing.
type entry struct {
	ID       string
	Time     time.Time
	Complete bool // both the data object and the manifest exist
	names    []string
}

// entries groups the store listing into backups, newest first.
func (m *Manager) entries(ctx context.Context) ([]entry, error) {
	objs, err := m.store.List(ctx, m.prefix)
	if err != nil {
		return nil, err
	}
	type parts struct {
		data, manifest bool
		names          []string
	}
	byID := map[string]*parts{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Name, m.prefix)
		var id string
		var isData bool
		switch {
		case strings.HasSuffix(rest, dataSuffix):
			id, isData = strings.TrimSuffix(rest, dataSuffix), true
		case strings.HasSuffix(rest, manifestSuffix):
			id = strings.TrimSuffix(rest, manifestSuffix)
		default:
			continue
		}
		if strings.Contains(id, "/") {
			continue
		}
		if _, ok := idTime(id); !ok {
			continue
		}
		p := byID[id]
		if p == nil {
			p = &parts{}
			byID[id] = p
		}
		if isData {
			p.data = true
		} else {
			p.manifest = true
		}
		p.names = append(p.names, o.Name)
	}
	out := make([]entry, 0, len(byID))
	for id, p := range byID {
		t, _ := idTime(id)
		out = append(out, entry{ID: id, Time: t, Complete: p.data && p.manifest, names: p.names})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// List returns the manifests of every complete backup, newest first.
func (m *Manager) List(ctx context.Context) ([]Manifest, error) {
	es, err := m.entries(ctx)
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range es {
		if !e.Complete {
			continue
		}
		man, err := m.readManifest(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, man)
	}
	return out, nil
}

// latest returns the manifest of the newest complete backup, or an error
// wrapping [ErrNotFound] when there is none.
func (m *Manager) latest(ctx context.Context) (Manifest, error) {
	es, err := m.entries(ctx)
	if err != nil {
		return Manifest{}, err
	}
	for _, e := range es {
		if e.Complete {
			return m.readManifest(ctx, e.ID)
		}
	}
	return Manifest{}, fmt.Errorf("backupkit: no complete backup: %w", ErrNotFound)
}

// Get returns the manifest of backup id; an empty id means the newest
// complete backup, and when there is none the error wraps [ErrNotFound].
func (m *Manager) Get(ctx context.Context, id string) (Manifest, error) {
	if id == "" {
		return m.latest(ctx)
	}
	man, err := m.readManifest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Manifest{}, fmt.Errorf("backupkit: backup %q: %w", id, ErrNotFound)
	}
	return man, err
}
