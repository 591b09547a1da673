package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes. Every command exits 0 on success, 1 when it failed and 2 on a
// usage mistake; migrate adds 3 and 4 (see the migrate help).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPending = 3
	exitAhead   = 4
)

// exitError carries an exit code other than 1; msg may be empty when the
// command already said everything on stdout.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr reports a usage mistake (exit 2) and where to read the usage.
func usageErr(topic, format string, args ...any) error {
	help := strings.TrimSpace("example help " + topic)
	return &exitError{code: exitUsage, err: fmt.Errorf("%s\nrun '%s' for usage", fmt.Sprintf(format, args...), help)}
}

// exitCode maps run's error to the process's exit status.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if err != nil {
		return exitFailed
	}
	return exitOK
}

// parseFlags parses args into fs. On -h or --help it prints the topic's
// help to stdout and reports done; a bad flag is a usage error (exit 2).
// Positional arguments left over are refused: no command takes any.
func parseFlags(stdout io.Writer, topic string, fs *flag.FlagSet, args []string) (done bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, topic)
			return true, nil
		}
		return false, usageErr(topic, "%v", err)
	}
	if fs.NArg() > 0 {
		if a := fs.Arg(0); a == "help" {
			printHelp(stdout, topic)
			return true, nil
		}
		return false, usageErr(topic, "unexpected argument %q", fs.Arg(0))
	}
	return false, nil
}

func printHelp(w io.Writer, topic string) {
	fmt.Fprint(w, strings.TrimLeft(helpTopics[topic], "\n"))
}

// wantsHelp reports whether args asks for help before any flag parsing.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help")
}

func stdoutHelp(topic string) error {
	printHelp(os.Stdout, topic)
	return nil
}

const envDatabase = `
	DATABASE_URL
		postgres://user:pass@host:5432/db?sslmode=require, or sqlite://path;
		empty: the SQLite file DATA_DIR/covet.db.
	DATABASE_URL_FILE
		a file holding DATABASE_URL (a mounted secret).
	DATA_DIR
		directory of the embedded SQLite database (default "data").
	DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW, DATABASE_POOL_TIMEOUT,
	DATABASE_POOL_RECYCLE, DATABASE_MAX_IDLE_TIME, DATABASE_CONNECT_TIMEOUT,
	DATABASE_STATEMENT_TIMEOUT, DATABASE_SSL_MODE, DATABASE_BUSY_TIMEOUT,
	DATABASE_PRE_PING
		pool settings (see package pool).
	DATABASE_CANCEL_TIMEOUT
		how long a stopped statement may take to acknowledge its
		cancellation before the connection is dropped (default 100ms).
`

const envBackup = `
	BACKUP_TARGET
		a directory, or s3://bucket/prefix (default DATA_DIR/backups).
	S3_ENDPOINT
		S3 host[:port] (default s3.amazonaws.com).
	S3_ACCESS_KEY, S3_SECRET_KEY
		S3 credentials.
	S3_REGION
		S3 region (default: the endpoint's).
	S3_INSECURE
		true to speak plain HTTP to S3_ENDPOINT (tests, a local MinIO).
` + envDatabase + `
	Backup and restore also read the service's configuration (see
	'example help serve'): in production SECRET_KEY, ALLOWED_HOSTS and
	ADMIN_PASSWORD must be set.
`

const migrateExitCodes = `
Exit status:

	0  done; the schema is one this binary serves (up to date, or ahead
	   across migrations marked compatible only)
	1  failed: the database could not be reached, the lock was not granted
	   within 10 minutes, or a migration failed (it is rolled back; those
	   applied before it stay)
	2  usage mistake
	3  migrations are pending (status, up -dry-run)
	4  the database is ahead of this binary across a migration not marked
	   compatible: deploy the newer release, or roll back with its
	   'migrate down'
`

var helpTopics = map[string]string{
	"": `
Example is a complete service built from covet's packages on chi.

Usage:

	example <command> [arguments]

The commands are:

	serve        serve HTTP (the default when no command is given)
	migrate      apply, roll back and show schema migrations
	backup       back up the database; list and prune backups
	restore      restore a backup into the database
	config       check the configuration
	healthcheck  probe /health (for a container HEALTHCHECK)

Use "example help <command>" or "example <command> -h" for more
information about a command.
`,
	"serve": `
usage: example [serve]

Serve runs the service until SIGINT or SIGTERM, then drains: readiness
fails at once, requests are served for DRAIN_DELAY more, and the server
shuts down. With no environment at all it serves on 127.0.0.1:8080 with
SQLite under DATA_DIR, in-memory stores and a random signing key.

At start it checks the schema: with MIGRATE_ON_START it applies pending
migrations; without, /ready fails (check "schema") until 'example migrate
up' has run. A database ahead of the binary (a rolled-back release) is
served when the migrations in between are marked compatible, and refused
otherwise.

Environment:

	ENVIRONMENT         development (default) or production
	ADDR                listen address (default 127.0.0.1:8080)
	INTERNAL_ADDR       listener for /metrics, /metrics/health and pprof
	                    (default 127.0.0.1:8081)
	APP_NAME, APP_VERSION
	                    service name (Redis key prefix, JWT issuer) and version
	SECRET_KEY          HS256 signing key, at least 32 bytes (this or SIGNING_KEYS
	                    is required in production)
	SIGNING_KEYS        instead of SECRET_KEY: id:secret entries, comma- or
	                    newline-separated, newest first; the first signs
	ALLOWED_HOSTS       comma-separated host names (required in production)
	CORS_ALLOW_ORIGINS  comma-separated origins
	TRUSTED_PROXIES     CIDRs whose X-Forwarded-* headers are believed
	REDIS_URL           redis://host:6379/0; empty: in-memory stores
	REDIS_SECURITY_URL  a Redis of its own for refresh tokens, denylist, lockouts
	                    and rate limits (default REDIS_URL)
	REDIS_TIMEOUT       budget of each Redis call on the request path (default
	                    50ms; token store and lockout calls wait at least 250ms)
	REDIS_POLICY_CHECK  refuse a security Redis that may evict keys (default
	                    true in production)
	DATABASE_QUERY_TIMEOUT
	                    budget of a request's database work and of an export's
	                    wait for its first row (default 2s); then 503
	ALLOW_INSECURE_TRANSPORT
	                    let production reach PostgreSQL and Redis without TLS
	TLS_WATCH_ADDR, TLS_WATCH_WARN
	                    public host:443 whose certificate readiness watches,
	                    and how long before expiry it warns (default 336h)
	RATE_LIMIT, LOGIN_RATE_LIMIT
	                    such as 1000/minute and 5/minute
	RATE_LIMIT_LEASE    with Redis, RATE_LIMIT allowance each replica takes per
	                    client in one call (default 10; 0: one call per request)
	LOG_LEVEL           debug, info (default), warn or error
	LOG_FLUSH_INTERVAL  write the log in batches this often (default 100ms;
	                    0: every line at once)
	ADMIN_USERNAME, ADMIN_PASSWORD
	                    the admin account (password required in production)
	SEED_USERS          demo users created when the table is empty (default 1000)
	DRAIN_DELAY         serve this long after SIGTERM (default 5s)
	MAX_IN_FLIGHT       requests served at once before load is shed (default 256;
	                    probes are never shed)
	MAX_IN_FLIGHT_BACKLOG, MAX_IN_FLIGHT_WAIT
	                    how many more may wait for a slot, and how long, before
	                    a 503 with Retry-After (default 256, 100ms)
	FORCE_HTTPS         redirect to HTTPS (default true in production)
	MIGRATE_ON_START    apply pending migrations at start (default true in
	                    development, false in production)
	BACKUP_TARGET       where backups go (see 'example help backup')

	SECRET_KEY, SIGNING_KEYS, ADMIN_PASSWORD, DATABASE_URL, REDIS_URL,
	REDIS_SECURITY_URL, S3_ACCESS_KEY and S3_SECRET_KEY may instead come from
	a file named by NAME_FILE (a mounted secret).
` + envDatabase,
	"migrate": `
usage: example migrate <command> [flags]

Migrate applies and rolls back the schema migrations embedded in this
binary, one ordered set per database (PostgreSQL, SQLite). Runs are
serialised: by an advisory lock on PostgreSQL, by a lock on the file
DATA_DIR/covet.db.migrate-lock for SQLite, so replicas and jobs started
together apply each migration exactly once.

The commands are:

	up      apply pending migrations (-dry-run to only print them)
	down    roll back the newest migration (-to to go further)
	status  list migrations and whether each is applied
	redo    roll back the newest migration and apply it again

Use "example help migrate <command>" for more information about a command.

Environment:
` + envDatabase + migrateExitCodes,
	"migrate up": `
usage: example migrate up [-dry-run] [-to version]

Up applies every pending migration in version order, each in its own
transaction, and prints one line per migration applied.

The flags are:

	-dry-run
		print the pending versions and their SQL; apply nothing
		(exit 3 when something is pending, 0 when nothing is).
	-to version
		stop after this version (default: the newest).

Environment:
` + envDatabase + migrateExitCodes,
	"migrate down": `
usage: example migrate down [-to version]

Down rolls back the newest applied migration, running its Down section.
Rolling back loses what the migration added (a dropped column's values).

The flags are:

	-to version
		roll back every migration above this version; -to 0 empties
		the schema.

Environment:
` + envDatabase + migrateExitCodes,
	"migrate status": `
usage: example migrate status

Status lists the binary's migrations with the time each was applied, and
the versions applied by a newer release that this binary does not have.
It changes nothing.

Environment:
` + envDatabase + migrateExitCodes,
	"migrate redo": `
usage: example migrate redo

Redo rolls back the newest applied migration and applies it again: a
check, while writing a migration, that its Down undoes its Up.

Environment:
` + envDatabase + migrateExitCodes,
	"backup": `
usage: example backup [list | prune] [flags]

Backup, with no command, backs up the database to BACKUP_TARGET: pg_dump
for PostgreSQL, a consistent snapshot (VACUUM INTO) for SQLite. Progress
goes to stderr.

The commands are:

	list   list the backups, newest first
	prune  remove backups the retention policy does not keep

Use "example help backup <command>" for more information about a command.

Environment:
` + envBackup,
	"backup list": `
usage: example backup list

List prints each backup's ID, time, kind, size and stored size.

Environment:
` + envBackup,
	"backup prune": `
usage: example backup prune [-dry-run] [-keep-last n] [-keep-daily n]
	[-keep-weekly n] [-keep-monthly n] [-max-age duration]

Prune removes the backups the retention policy does not keep. A backup
kept by any rule is kept.

The flags are:

	-dry-run
		only print what would be removed.
	-keep-last n
		keep the newest n backups (default 7).
	-keep-daily n
		keep one backup for each of the last n days (default 7).
	-keep-weekly n
		keep one backup for each of the last n weeks (default 4).
	-keep-monthly n
		keep one backup for each of the last n months (default 6).
	-max-age duration
		remove backups older than this, such as 2160h (default: no limit).

Environment:
` + envBackup,
	"restore": `
usage: example restore [-id id]

Restore restores a backup into the database. PostgreSQL: the backup is
first restored into a scratch database and checked, then into
DATABASE_URL (objects are dropped and recreated). SQLite: the database
file is set aside and replaced, so stop the service first.

A backup holds its schema version: after restoring an older one, run
'example migrate up' to bring the schema to this binary's version.

The flags are:

	-id id
		the backup to restore (default: the latest complete backup).

Environment:
` + envBackup,
	"config": `
usage: example config validate

Validate reads the environment as 'example serve' would and lists every
problem, exiting 1 when there is one. See 'example help serve' for the
variables. In production a secret (SECRET_KEY, SIGNING_KEYS, ADMIN_PASSWORD,
the password of DATABASE_URL or REDIS_URL, S3_*, SENTRY_DSN) that looks like
a template's placeholder (<...>, change-me, CHANGEME, example, xxx...) is a
problem, named by its variable.
`,
	"healthcheck": `
usage: example healthcheck

Healthcheck sends GET /health to the service on ADDR and exits 0 when it
answers 200, 1 otherwise. The container image has no shell or curl; its
HEALTHCHECK runs this.

Environment:

	ADDR  the service's listen address (default 127.0.0.1:8080); a
	      wildcard host is probed on 127.0.0.1.
`,
}
