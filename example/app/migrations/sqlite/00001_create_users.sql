-- The schema as it was before versioned migrations, plus the table the
-- migrator records "-- +covet compatible" markers in. IF NOT EXISTS lets a
-- database created by that release take on the version history as it is.
-- +goose Up
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    bio           TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'active',
    password_hash TEXT NOT NULL,
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS users_status_idx ON users (status);

CREATE TABLE IF NOT EXISTS schema_compat (
    version_id INTEGER PRIMARY KEY,
    compatible BOOLEAN NOT NULL
);

-- +goose Down
DROP TABLE schema_compat;
DROP TABLE users;
