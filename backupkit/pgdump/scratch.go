package pgdump

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/covetgo/covet/backupkit"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ScratchDatabase is an empty database created for a checked restore.
type ScratchDatabase struct {
	// URL connects to the scratch database, for the check.
	URL string
	// Target restores into it.
	Target backupkit.Target
	name   string
	admin  string
}

// NewScratchDatabase creates an empty database named after the one connString
// names (<name>_scratch_<random>), on the same server and with the same
// credentials, which need the CREATEDB privilege. Drop it with
// [ScratchDatabase.Drop] when done.
func NewScratchDatabase(ctx context.Context, connString string, opts ...Option) (*ScratchDatabase, error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgdump: postgres connection string: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := cfg.Database + "_scratch_" + hex.EncodeToString(b[:])
	if len(name) > 63 {
		name = "scratch_" + hex.EncodeToString(b[:])
	}
	scratchURL, err := withDatabase(connString, name)
	if err != nil {
		return nil, err
	}
	if err := adminExec(ctx, connString, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("pgdump: create scratch database: %w", err)
	}
	t, err := NewTarget(scratchURL, opts...)
	if err != nil {
		return nil, err
	}
	return &ScratchDatabase{URL: scratchURL, Target: t, name: name, admin: connString}, nil
}

// Drop removes the scratch database, closing any session still in it.
func (s *ScratchDatabase) Drop(ctx context.Context) error {
	if err := adminExec(ctx, s.admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgdump: drop scratch database: %w", err)
	}
	return nil
}

func adminExec(ctx context.Context, connString, sql string) error {
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Exec(ctx, sql).Close()
}

// withDatabase returns connString pointing at database name.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("pgdump: postgres connection string: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form a later keyword wins.
	return connString + " dbname=" + name, nil
}
