// Package sqlstore is a tokenauth.Store over database/sql for PostgreSQL,
// MySQL/MariaDB and SQLite. It imports no driver: the host picks one and
// blank-imports it.
//
//	db, store, err := sqlstore.Open(ctx, "postgres://app@db/app", sqlstore.Options{})
//	if err != nil { ... }
//	defer db.Close()
//	if err := store.Migrate(ctx); err != nil { ... } // or apply Schema with your own tool
//	auth, err := tokenauth.New(store, tokenauth.Options{})
//
// # Schema
//
// One table (default "tokenauth_tokens") with the token's public ID as
// primary key, a unique index on the digest (every lookup is one indexed
// query), an index on (user_id, created_at) for List and DeleteUser, and an
// index on expires_at for DeleteExpired, and the revocation triggers
// (with, on MySQL and SQLite, the <table>_revocations log). Schema returns
// the DDL for a dialect, for hosts that run their own migration tool;
// Migrate applies it and is idempotent and safe to run from several
// processes at once. Migrate also adds the max_expires_at column and the
// triggers to a table created before they existed; with a migration tool,
// add the column with the ALTER TABLE that Schema's documentation shows,
// then apply Schema's text again.
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
//     SQLite.
//
// Create rejects records that do not fit these columns with an error
// wrapping ErrInvalidRecord, before the database is asked, so that every
// dialect accepts the same records.
//
// # Revocations on every replica
//
// The schema's triggers record every deletion, and every UPDATE that
// brings a token's expiry forward, whoever makes it: this process,
// another replica, the CLI, plain SQL. Watch reports each one, so that a
// cache in front of the store (package cachestore, which watches the
// store it wraps) evicts it on every replica at once. On PostgreSQL the
// triggers NOTIFY and Watch listens through Options.Listener (package
// pglisten, a module of its own over pgx): a revocation arrives within
// milliseconds of its commit. On MySQL and SQLite they append to a
// revocation log that Watch polls every Options.PollInterval (250 ms by
// default): a revocation arrives within the interval plus one query.
//
//	l, err := pglisten.New(dsn) // PostgreSQL only
//	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Listener: l})
//	cache, err := cachestore.New(store, cachestore.Options{})
//
// Expire brings a token's expiry forward (Rotate's grace period) with one
// UPDATE, which the triggers report. TouchBatch writes the uses that the
// Authenticator gathers in memory with one UPDATE per 500 tokens.
//
// # Errors
//
// Find, Delete and Touch return tokenauth.ErrNotFound for a token that is
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
// modernc.org/sqlite (pure Go) for SQLite. Any other database/sql driver
// for these databases works with New.
//
// # Importing from Django REST Framework
//
// ImportDRF copies the keys of DRF's authtoken_token table into any
// tokenauth.Store as digests, so that tokens issued by a Django service
// keep working once the Authenticator accepts legacy keys
// (tokenauth.Options.AcceptLegacyKeys).
package sqlstore
