// Package replicas measures how soon a revocation made through one replica
// of a service reaches another, each a separate process with its own
// cache over one shared store; it has no code of its own beyond the
// replica command (./replica).
//
// TestRevocationLag builds the replica and the tokenauth CLI, starts two
// replicas A and B with hour-long caches over PostgreSQL (notified through
// pglisten), Redis (pub/sub), MySQL or SQLite (revocation log polled every
// 250 ms), and for each of 200 tokens: logs in through A, has B cache the
// token, revokes it through A (logout, logout-all, rotate) or from a third
// process (the CLI's revoke; over Redis, which the CLI does not
// administer, "replica revoke"), then asks B every millisecond until it
// answers 401. The lag runs from the moment the revocation returned (A's
// answer received, or the revoking process exited) to B's first 401; the
// lag from the revocation's start is logged too. Uses are not recorded
// (-touch-interval -1ns): writing a token's first use drops its cache
// entry, and B would then refuse the token by reading the store, not
// through the revocation channel.
//
// It logs p50, p99 and max per store, and per kind, as
// "lag STORE: n=… p50=… p99=… max=…", and fails if p99 is 100 ms or more
// over PostgreSQL or Redis, or the poll interval plus 100 ms or more over
// MySQL or SQLite. Over the polled stores four tokens are revoked at a
// time, each after a random delay within the poll interval, so that
// revocations fall at random points of B's polling cycle.
//
// PostgreSQL, MySQL and Redis are read from TOKENAUTH_TEST_POSTGRES_DSN,
// TOKENAUTH_TEST_MYSQL_DSN and TOKENAUTH_TEST_REDIS_ADDR, and skipped with
// a message when unset; SQLite always runs, on a temporary file. -short
// skips the test.
package replicas
