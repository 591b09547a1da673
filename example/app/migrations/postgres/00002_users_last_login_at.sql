-- When each user last logged in; NULL until their next login. The previous
-- release neither reads nor writes the column, so it may keep serving a
-- database that has it.
-- +covet compatible
-- +goose Up
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE users DROP COLUMN last_login_at;
