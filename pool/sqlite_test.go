package pool_test

// The SQLite driver is linked into this test binary, so the package's own
// tests open sqlite: URLs too.
import _ "github.com/covetgo/covet/pool/sqlite"
