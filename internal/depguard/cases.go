package depguard

// Case is one tiny program under testdata/<Name>: a package used the light
// way, and the modules such a program must not link.
type Case struct {
	// Name is the program's directory under testdata.
	Name string
	// Package is the covet package the program uses.
	Package string
	// Use says how the program uses it, for the BENCHMARKS.md table.
	Use string
	// Forbidden lists module paths the program must not link.
	Forbidden []string
	// Pending, when not empty, says which change still has to land before
	// the row holds: the guard reports the row's links and skips it. Once
	// the row is clean the guard fails until Pending is emptied, so that a
	// fixed row is never left unguarded.
	Pending string
}

// Heavy modules a light program must not link.
const (
	Chi   = "github.com/go-chi/chi/v5"
	Redis = "github.com/redis/go-redis/v9"
	PGX   = "github.com/jackc/pgx/v5"
	Minio = "github.com/minio/minio-go/v7"
)

// Cases is the table the guard checks and depsize measures. Keep it in the
// order of BENCHMARKS.md's table.
var Cases = []Case{
	{Name: "health", Package: "health", Use: "one plain check",
		Forbidden: []string{Redis, PGX, Chi}},
	{Name: "metrics", Package: "metrics", Use: "middleware and /metrics on a ServeMux",
		Forbidden: []string{Chi, Redis, PGX}},
	{Name: "securehdr", Package: "securehdr", Use: "security headers",
		Forbidden: []string{Chi, Redis, PGX}},
	{Name: "ratelimit", Package: "ratelimit", Use: "in-memory store",
		Forbidden: []string{Redis, Chi}},
	{Name: "lockout", Package: "ratelimit/lockout", Use: "in memory",
		Forbidden: []string{Redis, Chi}},
	{Name: "pool", Package: "pool", Use: "Open of a postgres:// URL (pgx is the built-in driver)",
		Forbidden: []string{Redis, Chi, Minio}},
	{Name: "cachex", Package: "cachex", Use: "in-process tier only",
		Forbidden: []string{Redis, Chi, PGX}},
	{Name: "jwtauth", Package: "jwtauth", Use: "in-memory refresh store (no Redis)",
		Forbidden: []string{Redis, Chi, PGX}},
	{Name: "password", Package: "jwtauth/password", Use: "hash and verify",
		Forbidden: []string{Redis, Chi, PGX}},
	{Name: "stream", Package: "stream", Use: "sqlx rows to CSV (no COPY)",
		Forbidden: []string{PGX, Redis, Chi}},
	{Name: "backupkit", Package: "backupkit", Use: "a directory into a directory store",
		Forbidden: []string{Minio, PGX, Redis, Chi}},
	{Name: "jsonbody", Package: "jsonbody", Use: "strict request bodies on a ServeMux",
		Forbidden: []string{Chi, Redis, PGX}},
	{Name: "clientip", Package: "clientip", Use: "Addr on a ServeMux",
		Forbidden: []string{Chi, Redis, PGX}},
}
