// Package sqlstore is a tokenauth.Store over database/sql for PostgreSQL,
// MySQL/MariaDB and SQLite. It imports no driver: the host picks one and
// blank-imports it.
//
//	db, store, err := sqlstore.Open(ctx, "postgres://app@db/app", sqlstore.Options{})
//	if err != nil { ... }
//	defer db.Close()
//	if err := store.Migrate(ctx); err != nil { ... } // or apply Schema with your own tool
//	cache, err := cachestore.New(store, cachestore.Options{}) // hears revocations: Watch
//	auth, err := tokenauth.New(cache, tokenauth.Options{})
//
// # Schema
//
// One table (default "tokenauth_tokens") with the token's public ID as
// primary key, a unique index on the digest (every lookup is one indexed
// query), an index on (user_id, created_at) for List and DeleteUser, and an
// index on expires_at for DeleteExpired; the revocation triggers; and
// three tables named after it: the revocation log (<table>_revocations),
// the cut-offs (<table>_cutoffs) and Import's ledger (<table>_imports).
// Schema returns the DDL for a dialect, for hosts that run their own
// migration tool; Migrate applies it, is idempotent and safe to run from
// several processes at once, and upgrades the tables of earlier releases
// (MigrateReport says what it changed in stored tokens).
//
// Column encodings, identical in meaning across dialects:
//
//   - digest is binary (BYTEA, VARBINARY(64), BLOB), at most 64 bytes;
//   - scopes is a JSON array of strings, so any scope round-trips exactly;
//     no scopes is "[]" and reads back as a nil slice;
//   - times have microsecond precision and are read back in UTC:
//     TIMESTAMPTZ on PostgreSQL, DATETIME(6) holding UTC on MySQL, and
//     INTEGER Unix microseconds on SQLite; a NULL expires_at means the
//     token never expires, a NULL last_used_at that it was never used, a
//     NULL max_expires_at that no absolute deadline caps the sliding
//     expiry (Touch never moves expires_at past a set one);
//   - on MySQL, id and user_id are VARBINARY so that they compare exactly
//     (case- and trailing-space-sensitive), as they do on PostgreSQL and
//     SQLite;
//   - the per-token policy is a column per field, NULL when unset:
//     personal (BOOLEAN, INTEGER on SQLite), not_before (a time),
//     allowed_ips and denied_ips (prefixes separated by commas, as
//     netip.Prefix writes them), rate_limit and rate_window_ns (the window
//     in nanoseconds), created_from and user_agent (text).
//
// Create rejects records that do not fit these columns with an error
// wrapping ErrInvalidRecord, before the database is asked, so that every
// dialect accepts the same records.
//
// # Final revocation
//
// DeleteUser raises the user's cut-off, then deletes the user's tokens but
// those kept; Create inserts, then reads the cut-off, and deletes what it
// inserted if the token was created before it (tokenauth.ErrRevoked).
// Separate statements in that order, without a lock, so that neither can
// miss the other under any isolation level the databases default to:
// cutoff.go says why.
//
// # Revocations on every replica
//
// The schema's triggers record every deletion, and every UPDATE that
// brings a token's expiry forward, whoever makes it: this process,
// another replica, the CLI, plain SQL. Watch (cachestore.Watcher) reports
// each one, so that a cache in front of the store evicts it on every
// replica at once. On every dialect Watch polls the revocation log every
// Options.PollInterval (250 ms by default): measured, a revocation arrived
// in 116 to 135 ms at the median and at most 274 ms. On PostgreSQL,
// Options.Listener (package pglisten, a module of its own over pgx) makes
// it listen instead: within milliseconds of the commit; where LISTEN does
// not deliver, Watch falls back to polling, logs it once, and WatchMode
// says so.
//
//	l, err := pglisten.New(dsn) // PostgreSQL only, optional
//	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Listener: l})
//
// # Errors
//
// Find, Delete and Expire return tokenauth.ErrNotFound for a token that is
// not stored. Every other failure (network, timeout, canceled context,
// constraint, lock) is returned wrapped with the operation's name, so
// errors.Is reaches the driver's error, and the Authenticator reports it
// as an outage, never as an invalid token. Error text never contains
// digests or query arguments.
//
// Create maps a unique violation to tokenauth.ErrExists without importing
// any driver: it recognises SQLSTATE 23505 on PostgreSQL (through the
// SQLState method of pgx's and lib/pq's errors, or the message), error
// 1062 on MySQL (by the driver's message), and SQLite's extended codes
// 1555 and 2067 (through a Code method, or the message). The driver's
// message is then dropped, since MySQL's repeats the duplicate value.
//
// # Drivers
//
// ParseDSN and Open accept URL-style DSNs and name the driver to
// blank-import: github.com/jackc/pgx/v5/stdlib for PostgreSQL,
// github.com/go-sql-driver/mysql for MySQL and MariaDB, and
// modernc.org/sqlite (pure Go) for SQLite: v1.59.0 on Go 1.25, since later
// releases need Go 1.26. Any other database/sql driver for these
// databases works with New.
//
// # Importing from Django REST Framework
//
// Store.Import copies the keys of DRF's authtoken_token table, skipping
// those of users inactive in Django, so that tokens issued by a Django
// service keep working once the Authenticator accepts legacy keys
// (tokenauth.Options.AcceptLegacyKeys). A key is imported once: a key
// revoked in tokenauth since is never brought back.
package sqlstore
