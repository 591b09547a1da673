// Package testenv gives tests real services: a Redis client, a PostgreSQL
// database and, where redis-server is installed, a local Redis Cluster. The
// covet packages test with it, and so can a service that composes them: its
// tests then talk to the same real PostgreSQL and Redis, configured by the
// same variables (DATABASE_URL, REDIS_URL, COVET_REQUIRE_SERVICES).
//
// Every helper isolates the test it serves (a key prefix, a fresh schema or a
// fresh database) and removes what it made in t.Cleanup, so tests can run in
// parallel and leave nothing behind.
//
// When a service cannot be reached the test is skipped with a message saying
// which service and which address; with COVET_REQUIRE_SERVICES=1 (set by CI)
// it fails instead.
package testenv
