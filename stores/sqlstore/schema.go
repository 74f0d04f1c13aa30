package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// maxTableLen leaves room for the index-name suffixes within PostgreSQL's
// 63-byte identifiers.
const maxTableLen = 48

// checkTable accepts 1 to maxTableLen lowercase ASCII letters, digits and
// underscores, not starting with a digit. Lowercase names mean the same
// quoted or not on every dialect, so the host's own SQL can leave them
// unquoted.
func checkTable(name string) error {
	ok := len(name) > 0 && len(name) <= maxTableLen && !(name[0] >= '0' && name[0] <= '9')
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return invalidOptions(fmt.Sprintf("table name %q must be 1 to %d lowercase ASCII letters, digits and underscores, not starting with a digit", name, maxTableLen))
	}
	return nil
}

// quote quotes a checked identifier, so that a reserved word is still a
// valid table name.
func quote(d Dialect, name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// Schema returns the DDL that creates the tokens table and its indexes for
// dialect d: statements ending in semicolons, for a migration file of the
// host's own tool (goose, golang-migrate, atlas…). Each statement is
// idempotent (IF NOT EXISTS). An empty table means DefaultTable.
//
// A table created by an earlier release lacks the max_expires_at column,
// which IF NOT EXISTS does not add. Migrate adds it; a host's tool needs a
// migration of its own, before the new release runs:
//
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at TIMESTAMPTZ;      -- PostgreSQL
//	ALTER TABLE `tokenauth_tokens` ADD COLUMN max_expires_at DATETIME(6) NULL; -- MySQL
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at INTEGER;          -- SQLite
func Schema(d Dialect, table string) (string, error) {
	if !d.valid() {
		return "", invalidOptions("unknown dialect " + d.String())
	}
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return "", err
	}
	return strings.Join(schema(d, table), ";\n\n") + ";\n", nil
}

// schema returns the DDL statements of Schema, without semicolons. MySQL
// has no CREATE INDEX IF NOT EXISTS, so there the indexes are declared in
// the CREATE TABLE itself.
func schema(d Dialect, table string) []string {
	t := quote(d, table)
	idx := func(suffix string) string { return quote(d, table+suffix) }
	switch d {
	case Postgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             VARCHAR(64)  NOT NULL,
    user_id        VARCHAR(255) NOT NULL,
    name           VARCHAR(200) NOT NULL,
    scopes         TEXT         NOT NULL, -- JSON array of strings
    digest         BYTEA        NOT NULL,
    created_at     TIMESTAMPTZ  NOT NULL,
    expires_at     TIMESTAMPTZ,           -- NULL: never expires
    last_used_at   TIMESTAMPTZ,           -- NULL: never used
    max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline
    CONSTRAINT ` + idx("_pkey") + ` PRIMARY KEY (id),
    CONSTRAINT ` + idx("_digest_key") + ` UNIQUE (digest)
)`,
			"CREATE INDEX IF NOT EXISTS " + idx("_user_id_idx") + " ON " + t + " (user_id, created_at)",
			"CREATE INDEX IF NOT EXISTS " + idx("_expires_at_idx") + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
		}
	case MySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             VARBINARY(64)  NOT NULL,
    user_id        VARBINARY(255) NOT NULL,
    name           VARCHAR(200)   NOT NULL,
    scopes         TEXT           NOT NULL, -- JSON array of strings
    digest         VARBINARY(64)  NOT NULL,
    created_at     DATETIME(6)    NOT NULL, -- UTC
    expires_at     DATETIME(6)    NULL,     -- UTC; NULL: never expires
    last_used_at   DATETIME(6)    NULL,     -- UTC; NULL: never used
    max_expires_at DATETIME(6)    NULL,     -- UTC; NULL: no absolute deadline
    PRIMARY KEY (id),
    UNIQUE KEY digest_key (digest),
    KEY user_id_idx (user_id, created_at),
    KEY expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		}
	case SQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- JSON array of strings
    digest         BLOB    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at     INTEGER,          -- Unix microseconds; NULL: never expires
    last_used_at   INTEGER,          -- Unix microseconds; NULL: never used
    max_expires_at INTEGER           -- Unix microseconds; NULL: no absolute deadline
)`,
			"CREATE INDEX IF NOT EXISTS " + idx("_user_id_idx") + " ON " + t + " (user_id, created_at)",
			"CREATE INDEX IF NOT EXISTS " + idx("_expires_at_idx") + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
		}
	}
	return nil
}

// upgrade returns the statement that adds max_expires_at to a table
// created before the column existed: CREATE TABLE IF NOT EXISTS leaves such
// a table as it is. The column goes last, where the CREATE TABLE of Schema
// puts it too, so that new and upgraded tables are alike.
func upgrade(d Dialect, table string) string {
	typ := map[Dialect]string{Postgres: "TIMESTAMPTZ", MySQL: "DATETIME(6) NULL", SQLite: "INTEGER"}[d]
	return "ALTER TABLE " + quote(d, table) + " ADD COLUMN max_expires_at " + typ
}

// hasColumnQuery returns the query that counts the table's max_expires_at
// columns (0 or 1), given the argument hasColumnArg returns. SQLite has
// none: its PRAGMA table_info, which works on every version, is read
// instead.
func hasColumnQuery(d Dialect) string {
	switch d {
	case Postgres:
		// regclass resolves the name through search_path, as the store's
		// own statements do.
		return "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = CAST($1 AS text)::regclass" +
			" AND attname = 'max_expires_at' AND NOT attisdropped"
	case MySQL:
		return "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()" +
			" AND TABLE_NAME = ? AND COLUMN_NAME = 'max_expires_at'"
	}
	return ""
}

// Migrate creates the tokens table and its indexes if they do not exist,
// and adds the max_expires_at column to a table created before it existed.
// It is idempotent and safe to run from several processes at once:
//
//   - PostgreSQL: the DDL runs in one transaction under an advisory lock
//     derived from the table name (concurrent CREATE … IF NOT EXISTS can
//     otherwise fail on PostgreSQL's catalog);
//   - MySQL: one CREATE TABLE IF NOT EXISTS, atomic under the server's
//     metadata lock, then the ALTER TABLE if the column is missing; one
//     that fails because another process added the column meanwhile is
//     not an error;
//   - SQLite: one BEGIN IMMEDIATE transaction, which waits for other
//     writers (set a busy timeout on the connection; ParseDSN does).
//
// The column is looked up first and added only when missing, so that
// Migrate at every start-up takes no exclusive table lock.
//
// Hosts that manage their schema with a migration tool apply Schema instead
// and never call Migrate.
func (s *Store) Migrate(ctx context.Context) error {
	var err error
	switch s.dialect {
	case Postgres:
		err = s.migratePostgres(ctx)
	case MySQL:
		err = s.migrateMySQL(ctx)
	case SQLite:
		err = s.migrateSQLite(ctx)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// querier is what Migrate needs of a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// hasMaxExpiresAt reports whether the table has the max_expires_at column.
func (s *Store) hasMaxExpiresAt(ctx context.Context, q querier) (bool, error) {
	if s.dialect != SQLite {
		arg := s.table
		if s.dialect == Postgres {
			arg = quote(Postgres, s.table) // regclass input: a quoted name
		}
		var n int
		err := q.QueryRowContext(ctx, s.q.hasColumn, arg).Scan(&n)
		return n > 0, err
	}
	rows, err := q.QueryContext(ctx, "PRAGMA table_info("+quote(SQLite, s.table)+")")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return false, err
	}
	name := slices.Index(cols, "name")
	if name < 0 {
		return false, errors.New("PRAGMA table_info returned no name column")
	}
	found := false
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		switch v := vals[name].(type) {
		case string:
			found = found || v == "max_expires_at"
		case []byte:
			found = found || string(v) == "max_expires_at"
		}
	}
	return found, rows.Err()
}

// addMaxExpiresAt adds the max_expires_at column if the table lacks it.
func (s *Store) addMaxExpiresAt(ctx context.Context, q querier) error {
	has, err := s.hasMaxExpiresAt(ctx, q)
	if err != nil || has {
		return err
	}
	_, err = q.ExecContext(ctx, s.q.upgrade)
	return err
}

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// for one table.
func (s *Store) migrateLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("tokenauth.sqlstore.migrate:" + s.table))
	return int64(h.Sum64())
}

func (s *Store) migratePostgres(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.migrateLockKey()); err != nil {
		return err
	}
	for _, stmt := range s.q.migrate {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := s.addMaxExpiresAt(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateMySQL has no transaction to work in: MySQL commits DDL at once.
// Two processes may both find the column missing; the second ALTER TABLE
// then fails (duplicate column), and the column is there.
func (s *Store) migrateMySQL(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.q.migrate[0]); err != nil {
		return err
	}
	err := s.addMaxExpiresAt(ctx, s.db)
	if err != nil {
		if has, hasErr := s.hasMaxExpiresAt(ctx, s.db); hasErr == nil && has {
			return nil
		}
	}
	return err
}

// migrateSQLite runs the DDL in a BEGIN IMMEDIATE transaction on one
// connection: database/sql's BeginTx would start a deferred transaction,
// which can fail at once, without waiting, when another process writes
// first.
func (s *Store) migrateSQLite(ctx context.Context) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	for _, stmt := range s.q.migrate {
		if _, err = conn.ExecContext(ctx, stmt); err != nil {
			break
		}
	}
	if err == nil {
		err = s.addMaxExpiresAt(ctx, conn)
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "COMMIT")
		if err == nil {
			return nil
		}
	}
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		// SQLite may have rolled back already, or the connection may still
		// be inside the transaction: either way, keep it out of the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}
