// Package backupkit backs up PostgreSQL databases, directories and Redis
// snapshots to a local directory or S3-compatible storage, writes a manifest
// for each backup, prunes old backups by a retention policy, and restores
// only what it has verified.
//
// # Pay for what you import
//
// This package holds the pipeline, the directory store and the sources and
// targets that need only the standard library (directories, files, any
// stream); backing a directory up into a directory links no database
// client and no S3 client. What needs more lives beside it:
//
//   - [github.com/covetgo/covet/backupkit/s3store]: S3-compatible storage
//     (minio-go);
//   - [github.com/covetgo/covet/backupkit/pgdump]: PostgreSQL with
//     pg_dump, pg_restore and psql, and scratch databases (pgx, to parse
//     connection strings and create databases);
//   - [github.com/covetgo/covet/backupkit/redisrdb]: Redis RDB snapshots
//     with redis-cli (go-redis, for the BGSAVE fallback).
//
// # Pipeline
//
// [Manager.Backup] streams a [Source] through compression ([Zstd] by
// default, parallel [Gzip] as an option), SHA-256 and optional age encryption
// ([WithRecipients]) straight into a [Store]: no temporary files, and memory
// bounded by block size × concurrency (compression) and part size × part
// concurrency (s3store.New). The data object is committed only when the source
// finished successfully (pg_dump or redis-cli exited 0); otherwise the upload
// is aborted and the error wraps [ErrSourceFailed].
//
// # Manifests
//
// A JSON [Manifest] is written last, next to the data: ID, time, kind,
// sizes, hashes, compression, encryption, tool and server versions, database.
// A backup without its manifest is incomplete: it is never listed, never
// "latest", and retention removes it after a grace period.
//
// # Sources and targets
//
//   - pgdump.NewSource runs pg_dump (custom format by default, or plain SQL;
//     with pgdump.WithJobs several pg_dump jobs write the directory format,
//     which is streamed as a tar); pgdump.NewTarget restores with pg_restore or
//     psql in a single transaction (pg_restore -j when restoring with jobs).
//   - [NewDirectorySource] builds a tar in-process (modes, symbolic links,
//     exclude patterns); [NewDirectoryTarget] extracts it through a staging
//     directory and refuses entries that would escape ([ErrUnsafePath]).
//   - redisrdb.NewSource copies an RDB with redis-cli --rdb, falling back to
//     BGSAVE where SYNC is refused; [NewFileTarget] places the file for the
//     operator.
//   - [NewReaderSource] and [NewWriterTarget] take any stream.
//
// The constructors return the [Source], [Target] and [Store] interfaces:
// the implementations have no methods of their own, and a service adds its
// own implementation of any of the three the same way. A store serves one
// or many backup sets: [WithPrefix] names a set's objects (for S3, it is the
// key prefix).
//
// # Restore and verify
//
// [Manager.Restore] reads the stored object twice: first to check every hash
// and size against the manifest, then, only if that passed, to stream it
// into the target. A corrupt backup is refused with [ErrChecksum] before the
// target sees a byte. [Manager.RestoreChecked] restores into a scratch
// target first (for PostgreSQL, a pgdump.ScratchDatabase) and restores into the
// real one only when a check of the scratch copy passes. [Manager.Verify]
// performs the check alone and lists a PostgreSQL archive with
// pg_restore --list.
//
// # Retention
//
// [Manager.Prune] applies a [Policy] (keep last N, daily, weekly, monthly,
// maximum age) computed from the store's listing, with a dry run. The newest
// complete backup is never removed.
//
// # Progress
//
// [WithProgress] reports bytes and rate while data flows, for a progress bar.
//
// # Secrets
//
// A password in a PostgreSQL URL reaches pg_dump, pg_restore and psql through
// PGPASSWORD, and a Redis password reaches redis-cli through REDISCLI_AUTH,
// never through their command lines, which other local users can read. A
// keyword/value connection string is passed as given: keep its password in
// a .pgpass file instead.
package backupkit
