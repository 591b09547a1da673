// Package streambench compares stream's exports with a hand-written
// sqlx + encoding/csv export. run.sh measures whole HTTP exports of a
// 1,000,000-row table against psql's COPY; server/ is the server it drives.
package streambench
