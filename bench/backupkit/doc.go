// Package backupkitbench compares backupkit's compression pipeline with the
// standard library's gzip, and holds run.sh, which times a backupkit backup
// of a 1,000,000-row table against "pg_dump | gzip".
package backupkitbench
