package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// publicUser is what a user other than an admin sees of another user.
type publicUser struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Bio       string    `json:"bio"`
	CreatedAt time.Time `json:"created_at"`
}

// Public returns the fields every authenticated user may see.
func (u user) Public() publicUser {
	return publicUser{ID: u.ID, Username: u.Username, Bio: u.Bio, CreatedAt: u.CreatedAt}
}

// user is a row of the users table as the API shows it to an admin and to
// the user itself.
type user struct {
	ID        int64     `db:"id" json:"id"`
	Username  string    `db:"username" json:"username"`
	Email     string    `db:"email" json:"email"`
	Bio       string    `db:"bio" json:"bio"`
	Status    string    `db:"status" json:"status"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Errors the user store returns.
var (
	errNotFound  = errors.New("not found")
	errDuplicate = errors.New("already exists")
)

// userStore is the users table.
type userStore struct {
	db *sqlx.DB
	// timeout, when positive, bounds each call made while answering a
	// request (DATABASE_QUERY_TIMEOUT): a database that accepts and never
	// answers costs a request this long, not until it answers.
	timeout time.Duration
}

// bound returns ctx with the per-call deadline, when there is one.
func (u *userStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if u.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, u.timeout)
}

// newUsers wraps db (PostgreSQL or SQLite; queries are rebound for its
// placeholders). The schema comes from the migrations (Migrator).
func newUsers(db *sqlx.DB) *userStore {
	return &userStore{db: db}
}

const userCols = "id, username, email, bio, status, created_at"

// Get returns one user or ErrNotFound.
func (u *userStore) Get(ctx context.Context, id int64) (user, error) {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	var out user
	err := u.db.GetContext(ctx, &out, u.db.Rebind("SELECT "+userCols+" FROM users WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return out, errNotFound
	}
	return out, err
}

// Page returns up to limit users with id > after, in id order (keyset
// pagination: each page costs its own size).
func (u *userStore) Page(ctx context.Context, after int64, limit int) ([]user, error) {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	out := []user{}
	err := u.db.SelectContext(ctx, &out, u.db.Rebind("SELECT "+userCols+" FROM users WHERE id > ? ORDER BY id LIMIT ?"), after, limit)
	return out, err
}

// normalizeUsername returns the stored form of a username and whether it
// is a valid one: 3 to 50 ASCII letters, digits or underscores, checked on
// the bytes as sent, before any case mapping; then A-Z becomes a-z and
// nothing else changes. Usernames are unique regardless of case, as emails
// are, so "ADMIN" cannot be created beside "admin" to impersonate it.
//
// The check comes first because Unicode case mapping folds other
// characters onto ASCII: strings.ToLower maps U+212A KELVIN SIGN to k and
// U+0130 to i plus a combining dot, and case-insensitive matching folds
// U+017F LONG S onto s, so "\u212Aate" would otherwise be taken for kate.
// Nothing is trimmed either: " admin" is not a username.
func normalizeUsername(s string) (string, bool) {
	if !validUsername(s) {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
}

// Credentials returns the user's ID and password hash by username, in any
// case.
func (u *userStore) Credentials(ctx context.Context, username string) (id int64, hash, status string, err error) {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	name, ok := normalizeUsername(username)
	if !ok {
		return 0, "", "", errNotFound
	}
	row := u.db.QueryRowxContext(ctx, u.db.Rebind("SELECT id, password_hash, status FROM users WHERE username = ?"), name)
	if err = row.Scan(&id, &hash, &status); errors.Is(err, sql.ErrNoRows) {
		err = errNotFound
	}
	return id, hash, status, err
}

// SetPasswordHash replaces a user's hash (after a rehash on login).
func (u *userStore) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	_, err := u.db.ExecContext(ctx, u.db.Rebind("UPDATE users SET password_hash = ? WHERE id = ?"), hash, id)
	return err
}

// SetLastLogin records a successful login (migration 2's last_login_at).
func (u *userStore) SetLastLogin(ctx context.Context, id int64, at time.Time) error {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	_, err := u.db.ExecContext(ctx, u.db.Rebind("UPDATE users SET last_login_at = ? WHERE id = ?"), at.UTC().Truncate(time.Microsecond), id)
	return err
}

// Create inserts a user and returns it; a taken username or email gives
// ErrDuplicate. Both are stored normalised (lower case), so uniqueness
// ignores case.
func (u *userStore) Create(ctx context.Context, in newUser, hash string) (user, error) {
	ctx, cancel := u.bound(ctx)
	defer cancel()
	name, ok := normalizeUsername(in.Username)
	if !ok {
		return user{}, fmt.Errorf("create user: invalid username")
	}
	in.Username = name
	now := time.Now().UTC().Truncate(time.Microsecond)
	var id int64
	q := u.db.Rebind("INSERT INTO users (username, email, bio, status, password_hash, created_at) VALUES (?, ?, ?, 'active', ?, ?) RETURNING id")
	err := u.db.QueryRowxContext(ctx, q, in.Username, strings.ToLower(in.Email), in.Bio, hash, now).Scan(&id)
	if err != nil {
		if isUniqueViolation(err) {
			return user{}, errDuplicate
		}
		return user{}, err
	}
	return user{ID: id, Username: in.Username, Email: strings.ToLower(in.Email), Bio: in.Bio, Status: "active", CreatedAt: now}, nil
}

// Count returns the number of users.
func (u *userStore) Count(ctx context.Context) (int, error) {
	var n int
	err := u.db.GetContext(ctx, &n, "SELECT count(*) FROM users")
	return n, err
}

// Seed inserts n demo users in batches when the table is empty. Demo users
// share hash, so seeding costs one password hash, not n.
func (u *userStore) Seed(ctx context.Context, n int, hash string) error {
	if c, err := u.Count(ctx); err != nil || c > 0 {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	statuses := []string{"active", "active", "active", "active", "active", "active", "active", "active", "active", "inactive"}
	const batch = 500
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var sb strings.Builder
		args := make([]any, 0, (end-start)*6)
		sb.WriteString("INSERT INTO users (username, email, bio, status, password_hash, created_at) VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(",")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, fmt.Sprintf("user_%d", i+1), fmt.Sprintf("user%d@example.com", i+1),
				"Demo user", statuses[i%len(statuses)], hash, now.Add(-time.Duration(n-i)*time.Minute))
		}
		if _, err := u.db.ExecContext(ctx, u.db.Rebind(sb.String()), args...); err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
	}
	return nil
}

// EnsureAdmin creates the admin user if missing.
func (u *userStore) EnsureAdmin(ctx context.Context, username, hash string) (created bool, err error) {
	_, _, _, err = u.Credentials(ctx, username)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, errNotFound) {
		return false, err
	}
	_, err = u.Create(ctx, newUser{Username: username, Email: username + "@admin.invalid", Bio: "Administrator"}, hash)
	if errors.Is(err, errDuplicate) {
		return false, nil
	}
	return err == nil, err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// newUser is the body of POST /api/v1/users.
type newUser struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Bio      string `json:"bio"`
	Password string `json:"password"`
}

// fieldError names one invalid field.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// validUsername reports whether s is 3 to 50 ASCII letters, digits or
// underscores, byte by byte: no Unicode letter, digit or space passes.
func validUsername(s string) bool {
	if len(s) < 3 || len(s) > 50 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Validate checks every field and returns all problems; passwordCheck
// applies the password policy.
func (n newUser) Validate(passwordCheck func(string) error) []fieldError {
	var out []fieldError
	if !validUsername(n.Username) {
		out = append(out, fieldError{"username", "must be 3 to 50 letters, digits or underscores"})
	}
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email || a.Name != "" || len(n.Email) > 254 || !strings.Contains(n.Email[strings.LastIndexByte(n.Email, '@')+1:], ".") {
		out = append(out, fieldError{"email", "must be a valid email address"})
	}
	if !utf8.ValidString(n.Bio) || utf8.RuneCountInString(n.Bio) > 1000 {
		out = append(out, fieldError{"bio", "must be at most 1000 characters"})
	} else if strings.ContainsRune(n.Bio, 0) {
		// PostgreSQL text cannot hold NUL: refused here, not failed there.
		out = append(out, fieldError{"bio", "must not contain NUL characters"})
	}
	if err := passwordCheck(n.Password); err != nil {
		out = append(out, fieldError{"password", err.Error()})
	}
	return out
}
