//go:build tools

// Package tools pins the module's chosen dependencies while packages are written.
package tools

import (
	_ "filippo.io/age"
	_ "github.com/felixge/httpsnoop"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jackc/puddle/v2"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/johannesboyne/gofakes3"
	_ "github.com/klauspost/compress/s2"
	_ "github.com/klauspost/pgzip"
	_ "github.com/maypok86/otter/v2"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/rs/cors"
	_ "github.com/shirou/gopsutil/v4/cpu"
	_ "github.com/vmihailenco/msgpack/v5"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite"
)
