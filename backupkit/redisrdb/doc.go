// Package redisrdb is a [backupkit.Source] that copies a Redis snapshot (an
// RDB file) with redis-cli --rdb, falling back to BGSAVE and reading the
// saved file where the server refuses SYNC (managed Redis services often
// do).
//
// It is a package of its own so that a service that backs up only
// directories and files links no Redis client: import it only where Redis
// is backed up. The password reaches redis-cli through REDISCLI_AUTH, never
// its command line.
package redisrdb
