// Package replicas runs two replica processes of a service ("replica", in
// ./replica), each with its own hour-long cache over one shared store, and
// measures how revocations made through one reach the other; it has no
// code of its own beyond the replica command.
//
// The stores: PostgreSQL (notified through pglisten), Redis (pub/sub),
// MySQL and SQLite (revocation log polled every 250 ms), a Redis Cluster
// of three masters (tokens spread over every node, pub/sub across the
// cluster bus), and PostgreSQL behind PgBouncer in transaction mode, where
// LISTEN delivers nothing: pglisten refuses the pooled connection when the
// replicas start, sqlstore logs it and polls the revocation log
// (Store.WatchMode() == "poll"). Before each run both replicas must be
// watching the store, as the store says they must (listen, poll or
// pub/sub).
//
// TestRevocationLag builds the replica and the tokenauth CLI, and for
// each of 200 tokens per store: logs in through A, has B cache the token,
// revokes it through A (logout, logout-all, rotate) or from a third
// process (the CLI's revoke; over Redis, which the CLI does not
// administer, "replica revoke"), then asks B every millisecond until it
// answers 401. The lag runs from the moment the revocation returned (A's
// answer received, or the revoking process exited) to B's first 401; the
// lag from the revocation's start is logged too. Uses are not recorded
// (-touch-interval -1ns): writing a token's first use drops its cache
// entry, and B would then refuse the token by reading the store, not
// through the revocation channel. It logs p50, p99 and max per store, and
// per kind, as "lag STORE: n=… p50=… p99=… max=…", and fails if p99 is
// 100 ms or more where the store notifies (PostgreSQL, Redis, Redis
// Cluster), or the poll interval plus 100 ms or more where it is polled
// (MySQL, SQLite, PgBouncer). Over the polled stores four tokens are
// revoked at a time, each after a random delay within the poll interval,
// so that revocations fall at random points of B's polling cycle.
//
// TestFinalRevocation runs the revocation issue's races between the two
// processes: logins in flight on A while the password changes on B, and a
// stolen token rotated in a loop on A while its owner logs out other
// sessions on B. See its documentation.
//
// TestFrozenListener freezes the connection on which B listens for
// PostgreSQL's notifications, and only that one: a token revoked through
// A is refused by B within about 2 s (3 s at most), where it used to be
// accepted for the cache's TTL. See its documentation.
//
// PostgreSQL, MySQL, Redis, the Redis Cluster and PgBouncer are read
// from TOKENAUTH_TEST_POSTGRES_DSN, TOKENAUTH_TEST_MYSQL_DSN,
// TOKENAUTH_TEST_REDIS_ADDR, TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS
// (.ci/redis-cluster.sh start prints it) and TOKENAUTH_TEST_PGBOUNCER_DSN
// (.ci/pgbouncer.sh start), each skipped with a message when unset;
// SQLite always runs, on a temporary file. The tests run only with
// TOKENAUTH_LONG=1, and -short skips them.
package replicas
