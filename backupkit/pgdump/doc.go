// Package pgdump backs up and restores PostgreSQL databases for
// [backupkit.Manager] with the PostgreSQL client tools: [NewSource] runs
// pg_dump (custom, plain or, with [WithJobs], parallel directory format),
// [NewTarget] restores with pg_restore or psql in a single transaction, and
// [NewScratchDatabase] creates an empty database to restore into first with
// [backupkit.Manager.RestoreChecked].
//
// It is a package of its own so that a service that backs up only
// directories and files links no PostgreSQL driver: import it only where
// databases are backed up.
//
// A password in a URL reaches the tools through PGPASSWORD, never their
// command lines; a keyword/value connection string is passed as given, so
// keep its password in a .pgpass file.
package pgdump
