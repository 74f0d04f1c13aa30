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

// Schema returns the DDL that creates the tokens table, its indexes and
// the revocation triggers for dialect d: statements ending in semicolons,
// for a migration file of the host's own tool (goose, golang-migrate,
// atlas…). An empty table means DefaultTable. Applying it twice changes
// nothing: tables and indexes are created IF NOT EXISTS, PostgreSQL's
// triggers only when missing, SQLite's IF NOT EXISTS, and MySQL's are
// dropped and created again (MySQL before 8.0.29 has no CREATE TRIGGER IF
// NOT EXISTS).
//
// Trigger bodies hold semicolons of their own: give the file to a tool
// that sends it whole (golang-migrate, psql, sqlite3), or mark each such
// statement (goose's StatementBegin and StatementEnd, the mysql client's
// DELIMITER).
//
// A table created by an earlier release lacks the max_expires_at column,
// which IF NOT EXISTS does not add. Migrate adds it; a host's tool needs a
// migration of its own, before the new release runs:
//
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at TIMESTAMPTZ;      -- PostgreSQL
//	ALTER TABLE `tokenauth_tokens` ADD COLUMN max_expires_at DATETIME(6) NULL; -- MySQL
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at INTEGER;          -- SQLite
//
// then Schema's statements again, for the triggers.
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
	ddl := schema(d, table)
	stmts := append(ddl.tables, ddl.schemaTriggers()...)
	return strings.Join(stmts, ";\n\n") + ";\n", nil
}

// ddl is the schema of one table for one dialect.
type ddl struct {
	// tables creates the tokens table, its indexes and, on MySQL and
	// SQLite, the revocation log: IF NOT EXISTS.
	tables []string
	// triggers creates the revocation triggers. On PostgreSQL and SQLite
	// each statement creates what is missing; on MySQL each creates one
	// trigger, which Migrate runs only when the trigger is missing.
	triggers []trigger
}

// trigger is one statement of ddl.triggers, and on MySQL the name of the
// trigger it creates.
type trigger struct{ name, create string }

// schemaTriggers returns the trigger statements of Schema: on MySQL, each
// CREATE TRIGGER follows a DROP TRIGGER IF EXISTS.
func (d ddl) schemaTriggers() []string {
	var out []string
	for _, tr := range d.triggers {
		if tr.name != "" {
			out = append(out, "DROP TRIGGER IF EXISTS "+quote(MySQL, tr.name))
		}
		out = append(out, tr.create)
	}
	return out
}

// Names of the revocation machinery, derived from the table name so that
// several tables coexist in one database. The longest, the channel and the
// log table, fit PostgreSQL's and MySQL's 63- and 64-byte identifiers for
// a table name of maxTableLen bytes.
func revocationsName(table string) string { return table + "_revocations" } // channel, log table
func notifyFuncName(table string) string  { return table + "_notify" }      // PostgreSQL's trigger function
func onDeleteName(table string) string    { return table + "_on_delete" }
func onExpireName(table string) string    { return table + "_on_expire" }

// expiredEarlier is the condition, on a trigger's OLD and NEW rows, under
// which an UPDATE brought a token's expiry forward: a column that moved
// earlier, or was set where it was NULL (never). Touch only moves
// expires_at later, so it never meets it.
// Its second line starts with indent.
func expiredEarlier(indent string) string {
	return "NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)\n" +
		indent + "OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL)"
}

// schema returns the DDL of Schema. MySQL has no CREATE INDEX IF NOT
// EXISTS, so there the indexes are declared in the CREATE TABLE itself.
//
// The revocation triggers fire after a DELETE, and after an UPDATE that
// brings the expiry forward (expiredEarlier). On PostgreSQL they NOTIFY
// the channel revocationsName(table) with the JSON array [id, user_id],
// at most 330 bytes of PostgreSQL's 8000; on MySQL and SQLite they append
// a row to the revocation log, which Watch polls.
func schema(d Dialect, table string) ddl {
	t := quote(d, table)
	idx := func(suffix string) string { return quote(d, table+suffix) }
	log := quote(d, revocationsName(table))
	switch d {
	case Postgres:
		fn := quote(d, notifyFuncName(table))
		ifMissing := func(name, create string) string {
			return "    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '" + t + "'::regclass AND tgname = '" + name + "') THEN\n" +
				"        " + create + ";\n" +
				"    END IF;\n"
		}
		return ddl{tables: []string{
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
		}, triggers: []trigger{
			{create: "CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $$\n" +
				"BEGIN\n" +
				"    PERFORM pg_notify('" + revocationsName(table) + "', json_build_array(OLD.id, OLD.user_id)::text);\n" +
				"    RETURN NULL;\n" +
				"END\n" +
				"$$"},
			{create: "DO $$\n" +
				"BEGIN\n" +
				ifMissing(onDeleteName(table), "CREATE TRIGGER "+quote(d, onDeleteName(table))+" AFTER DELETE ON "+t+
					"\n            FOR EACH ROW EXECUTE PROCEDURE "+fn+"()") +
				ifMissing(onExpireName(table), "CREATE TRIGGER "+quote(d, onExpireName(table))+" AFTER UPDATE OF expires_at, max_expires_at ON "+t+
					"\n            FOR EACH ROW WHEN ("+expiredEarlier(strings.Repeat(" ", 31))+")"+
					"\n            EXECUTE PROCEDURE "+fn+"()") +
				"END\n" +
				"$$"},
		}}
	case MySQL:
		insert := "INSERT INTO " + log + " (token_id, user_id, created_at)"
		return ddl{tables: []string{
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
			"CREATE TABLE IF NOT EXISTS " + log + ` (
    seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    token_id   VARBINARY(64)   NOT NULL,
    user_id    VARBINARY(255)  NOT NULL,
    created_at DATETIME(6)     NOT NULL, -- UTC
    PRIMARY KEY (seq),
    KEY created_at_idx (created_at)
) ENGINE=InnoDB`,
		}, triggers: []trigger{
			{onDeleteName(table), "CREATE TRIGGER " + quote(d, onDeleteName(table)) + " AFTER DELETE ON " + t + " FOR EACH ROW\n" +
				insert + " VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6))"},
			// MySQL has no UPDATE OF nor WHEN: the trigger runs on every
			// updated row, Touch's included. An IF costs MariaDB about
			// 10 µs a row where an INSERT … SELECT … WHERE costs 35.
			{onExpireName(table), "CREATE TRIGGER " + quote(d, onExpireName(table)) + " AFTER UPDATE ON " + t + " FOR EACH ROW\n" +
				"IF " + expiredEarlier("   ") + " THEN\n" +
				"    " + insert + " VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));\n" +
				"END IF"},
		}}
	case SQLite:
		insert := "INSERT INTO " + log + " (token_id, user_id, created_at)" +
			" VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))"
		return ddl{tables: []string{
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
			// AUTOINCREMENT: a sequence number is never used twice, even
			// once the rows above it are pruned.
			"CREATE TABLE IF NOT EXISTS " + log + ` (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    token_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL -- Unix microseconds, UTC
)`,
			"CREATE INDEX IF NOT EXISTS " + quote(d, revocationsName(table)+"_created_at_idx") + " ON " + log + " (created_at)",
		}, triggers: []trigger{
			{create: "CREATE TRIGGER IF NOT EXISTS " + quote(d, onDeleteName(table)) + " AFTER DELETE ON " + t + "\n" +
				"BEGIN\n    " + insert + ";\nEND"},
			{create: "CREATE TRIGGER IF NOT EXISTS " + quote(d, onExpireName(table)) + " AFTER UPDATE OF expires_at, max_expires_at ON " + t + "\n" +
				"WHEN " + expiredEarlier("  ") + "\n" +
				"BEGIN\n    " + insert + ";\nEND"},
		}}
	}
	return ddl{}
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

// countTriggersQuery returns the query that counts the table's triggers
// among two names, given the table (quoted on PostgreSQL, for regclass)
// and the names.
func countTriggersQuery(d Dialect) string {
	switch d {
	case Postgres:
		return "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = CAST($1 AS text)::regclass AND tgname IN ($2, $3)"
	case MySQL:
		return "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()" +
			" AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?, ?)"
	}
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name IN (?, ?)"
}

// Migrate creates the tokens table, its indexes and the revocation
// triggers (and on MySQL and SQLite the revocation log) where they do not
// exist, and adds the max_expires_at column to a table created before it
// existed. It is idempotent and safe to run from several processes at
// once:
//
//   - PostgreSQL: the DDL runs in one transaction under an advisory lock
//     derived from the table name (concurrent CREATE … IF NOT EXISTS can
//     otherwise fail on PostgreSQL's catalog);
//   - MySQL: CREATE TABLE IF NOT EXISTS, atomic under the server's
//     metadata lock, then the ALTER TABLE if the column is missing and
//     each CREATE TRIGGER if the trigger is missing; one that fails
//     because another process got there first is not an error;
//   - SQLite: one BEGIN IMMEDIATE transaction, which waits for other
//     writers (set a busy timeout on the connection; ParseDSN does).
//
// The column and the triggers are looked up first and added only when
// missing, so that Migrate at every start-up takes no exclusive table lock.
// On MySQL, creating a trigger needs the TRIGGER privilege, and with binary
// logging on, SUPER or log_bin_trust_function_creators=1.
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

// migrateIn runs the DDL in q, a transaction: the tables, the column
// upgrade, then the triggers, which name the column.
func (s *Store) migrateIn(ctx context.Context, q querier) error {
	for _, stmt := range s.q.migrate.tables {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := s.addMaxExpiresAt(ctx, q); err != nil {
		return err
	}
	for _, tr := range s.q.migrate.triggers {
		if _, err := q.ExecContext(ctx, tr.create); err != nil {
			return err
		}
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
	if err := s.migrateIn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateMySQL has no transaction to work in: MySQL commits DDL at once.
// Two processes may both find the column or a trigger missing; the second
// ALTER TABLE or CREATE TRIGGER then fails (duplicate column, trigger
// exists), and what it would have added is there.
func (s *Store) migrateMySQL(ctx context.Context) error {
	for _, stmt := range s.q.migrate.tables {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := s.addMaxExpiresAt(ctx, s.db); err != nil {
		if has, hasErr := s.hasMaxExpiresAt(ctx, s.db); hasErr != nil || !has {
			return err
		}
	}
	for _, tr := range s.q.migrate.triggers {
		has, err := s.hasTrigger(ctx, tr.name)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		if _, err := s.db.ExecContext(ctx, tr.create); err != nil {
			if has, hasErr := s.hasTrigger(ctx, tr.name); hasErr != nil || !has {
				return err
			}
		}
	}
	return nil
}

// hasTriggerMySQL counts the triggers of the current database with a name.
const hasTriggerMySQL = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = ?"

// hasTrigger reports whether the MySQL trigger exists.
func (s *Store) hasTrigger(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, hasTriggerMySQL, name).Scan(&n)
	return n > 0, err
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
	err = s.migrateIn(ctx, conn)
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
