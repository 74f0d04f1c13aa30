package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
)

// addedColumns are the tokens table's columns that earlier releases did
// not create, in the order Schema declares them.
var addedColumns = append([]column{maxExpiresAt}, policyColumns...)

// upgrade returns the statements that add the columns missing from a
// table created by an earlier release, which CREATE TABLE IF NOT EXISTS
// leaves as it is: one ALTER TABLE on PostgreSQL and MySQL, one per column
// on SQLite, which adds only one at a time. They go last, where Schema
// declares them too, so that new and upgraded tables are alike.
func upgrade(d Dialect, table string, missing []column) []string {
	if len(missing) == 0 {
		return nil
	}
	alter := "ALTER TABLE " + quote(d, table)
	if len(missing) == 1 || d == SQLite {
		var out []string
		for _, c := range missing {
			out = append(out, alter+" ADD COLUMN "+c.name+" "+c.decl(d, 0))
		}
		return out
	}
	var b strings.Builder
	b.WriteString(alter)
	for i, c := range missing {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ADD COLUMN " + c.name + " " + c.decl(d, 0))
	}
	return []string{b.String()}
}

// columnsQuery returns the query that lists the table's columns, given
// the table name (quoted on PostgreSQL, for regclass). SQLite has none:
// its PRAGMA table_info, which works on every version, is read instead.
func columnsQuery(d Dialect) string {
	switch d {
	case Postgres:
		// regclass resolves the name through search_path, as the store's
		// own statements do.
		return "SELECT attname FROM pg_attribute WHERE attrelid = CAST($1 AS text)::regclass AND attnum > 0 AND NOT attisdropped"
	case MySQL:
		return "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
	}
	return ""
}

// Migrate creates what the store needs where it does not exist: the tokens
// table and its indexes, the cut-offs table, the revocation triggers and
// log, and, in a table created by an earlier release, the columns it
// lacks (max_expires_at, the per-token policy columns), which its tokens
// then read as unset. It is idempotent and safe to run from several
// processes at once:
//
//   - PostgreSQL: the DDL runs in one transaction under an advisory lock
//     derived from the table name (concurrent CREATE … IF NOT EXISTS can
//     otherwise fail on PostgreSQL's catalog);
//   - MySQL: CREATE TABLE IF NOT EXISTS, then one ALTER TABLE if columns
//     are missing and each CREATE TRIGGER if the trigger is missing
//     (MySQL commits DDL at once: there is no transaction to share). A
//     process that loses the race to another finds, after its statement
//     failed, that what it would have added is there;
//   - SQLite: one BEGIN IMMEDIATE transaction, which waits for other
//     writers (set a busy timeout on the connection; ParseDSN does).
//
// The columns and the triggers are looked up first and added only when
// missing, so that Migrate at every start-up takes no exclusive table lock.
// The added columns are nullable or have a constant default: PostgreSQL
// 11 and later, MySQL 8.0.12 and later, MariaDB 10.3 and later and SQLite
// add them without copying the table (MySQL 5.7 copies it while reads and
// writes go on; PostgreSQL before 11 copies it under lock).
// On MySQL, creating a trigger needs the TRIGGER privilege, and with binary
// logging on, SUPER or log_bin_trust_function_creators=1.
//
// Upgrading a database of a release before v0.1.0 (one without the
// cut-offs table), Migrate also gives every token that has an expiry but
// no absolute deadline its current expiry as deadline: rows written before
// max_expires_at existed have none, and an idle timeout would otherwise
// slide their expiry forever. No token lives longer for it; a token issued
// with an idle timeout and no TTL before the upgrade is capped too (it
// cannot be told apart), so its holder logs in again within the idle
// timeout. It logs how many at WARN; MigrateReport returns it.
//
// Hosts that manage their schema with a migration tool apply Schema instead
// and never call Migrate: see the README for the upgrade statements.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.migrate(ctx, false)
	return err
}

// MigrationReport says what a migration did to the tokens already stored,
// for the operator who runs it.
type MigrationReport struct {
	// Backfilled is how many tokens from before the absolute deadline
	// were given their current expiry as deadline: see Migrate.
	Backfilled int
	// NeverExpire is how many tokens have no expiry at all: neither a
	// TTL nor an idle timeout ends them, only a revocation.
	NeverExpire int
	// AddedColumns names the columns added to a table of an earlier
	// release: its tokens read them as unset (no policy).
	AddedColumns []string
}

// MigrateReport is Migrate, for an operator's tool (the CLI's migrate): it
// also counts the tokens that never expire, which reads the whole table.
func (s *Store) MigrateReport(ctx context.Context) (MigrationReport, error) {
	return s.migrate(ctx, true)
}

func (s *Store) migrate(ctx context.Context, count bool) (MigrationReport, error) {
	var rep MigrationReport
	var err error
	switch s.dialect {
	case Postgres:
		err = s.migratePostgres(ctx, &rep)
	case MySQL:
		err = s.migrateMySQL(ctx, &rep)
	case SQLite:
		err = s.migrateSQLite(ctx, &rep)
	}
	if err == nil && count {
		err = s.db.QueryRowContext(ctx, s.q.countNeverExpire).Scan(&rep.NeverExpire)
	}
	if err != nil {
		return rep, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if len(rep.AddedColumns) > 0 {
		s.log.LogAttrs(ctx, slog.LevelInfo, "sqlstore: migrate: added the columns of a newer release",
			slog.String("table", s.table), slog.Any("columns", rep.AddedColumns))
	}
	if rep.Backfilled > 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "sqlstore: migrate: tokens from before absolute deadlines now expire at their current expiry, no later",
			slog.String("table", s.table), slog.Int("tokens", rep.Backfilled))
	}
	return rep, nil
}

// migrateIn runs the DDL in q, a transaction or MySQL's locked session:
// the tables, the column upgrade, the backfill, then the triggers, which
// name the column.
func (s *Store) migrateIn(ctx context.Context, q querier, rep *MigrationReport) error {
	upgrading, err := s.lacksTable(ctx, q, cutoffsName(s.table))
	if err != nil {
		return err
	}
	for _, stmt := range s.q.migrate.tables {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := s.addColumns(ctx, q, rep); err != nil {
		return err
	}
	if upgrading {
		res, err := q.ExecContext(ctx, s.q.backfill)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		rep.Backfilled = int(n)
	}
	return s.createTriggers(ctx, q)
}

// backfillQuery returns the statement that gives tokens without an
// absolute deadline their expiry as one. It runs once, when Migrate
// creates the cut-offs table: afterwards, a token without deadline but
// with an expiry is one issued with an idle timeout and no TTL, which
// slides by design.
func backfillQuery(d Dialect, table string) string {
	return "UPDATE " + quote(d, table) + " SET max_expires_at = expires_at WHERE max_expires_at IS NULL AND expires_at IS NOT NULL"
}

// lacksTableQuery returns the query that counts the tables of a name (0 or
// 1), as the store's statements resolve it.
func lacksTableQuery(d Dialect) string {
	switch d {
	case Postgres:
		return "SELECT COUNT(to_regclass($1))"
	case MySQL:
		return "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
	}
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
}

// lacksTable reports whether the table name does not exist.
func (s *Store) lacksTable(ctx context.Context, q querier, name string) (bool, error) {
	arg := name
	if s.dialect == Postgres {
		arg = quote(Postgres, name) // regclass input: a quoted name
	}
	var n int
	err := q.QueryRowContext(ctx, s.q.lacksTable, arg).Scan(&n)
	return n == 0, err
}

// querier is what Migrate needs of a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// missingColumns returns the addedColumns the table lacks.
func (s *Store) missingColumns(ctx context.Context, q querier) ([]column, error) {
	var rows *sql.Rows
	var err error
	if s.dialect == SQLite {
		rows, err = q.QueryContext(ctx, "PRAGMA table_info("+quote(SQLite, s.table)+")")
	} else {
		arg := s.table
		if s.dialect == Postgres {
			arg = quote(Postgres, s.table) // regclass input: a quoted name
		}
		rows, err = q.QueryContext(ctx, s.q.columns, arg)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	name := 0 // the query's one column; PRAGMA table_info's "name"
	if s.dialect == SQLite {
		if name = slices.Index(cols, "name"); name < 0 {
			return nil, errors.New("PRAGMA table_info returned no name column")
		}
	}
	has := map[string]bool{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		switch v := vals[name].(type) {
		case string:
			has[v] = true
		case []byte:
			has[string(v)] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var missing []column
	for _, c := range addedColumns {
		if !has[c.name] {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// addColumns adds the columns the table lacks, and reports which.
func (s *Store) addColumns(ctx context.Context, q querier, rep *MigrationReport) error {
	missing, err := s.missingColumns(ctx, q)
	if err != nil || len(missing) == 0 {
		return err
	}
	for _, stmt := range upgrade(s.dialect, s.table, missing) {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			if s.dialect == MySQL {
				// Another process may have added them since the look-up:
				// MySQL commits DDL at once, outside any transaction.
				if still, lookErr := s.missingColumns(ctx, q); lookErr == nil && len(still) == 0 {
					return nil
				}
			}
			return err
		}
	}
	for _, c := range missing {
		rep.AddedColumns = append(rep.AddedColumns, c.name)
	}
	return nil
}

// createTriggers creates the revocation triggers where missing. On
// PostgreSQL and SQLite each statement does the looking; on MySQL, which
// has no CREATE TRIGGER IF NOT EXISTS before 8.0.29, each trigger is
// looked up first, and one that another process created meanwhile is not
// an error.
func (s *Store) createTriggers(ctx context.Context, q querier) error {
	for _, tr := range s.q.migrate.triggers {
		if s.dialect != MySQL {
			if _, err := q.ExecContext(ctx, tr.create); err != nil {
				return err
			}
			continue
		}
		has, err := s.hasTrigger(ctx, q, tr.name)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		if _, err := q.ExecContext(ctx, tr.create); err != nil {
			if has, hasErr := s.hasTrigger(ctx, q, tr.name); hasErr != nil || !has {
				return err
			}
		}
	}
	return nil
}

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// for one table.
func (s *Store) migrateLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("tokenauth.sqlstore.migrate:" + s.table))
	return int64(h.Sum64())
}

func (s *Store) migratePostgres(ctx context.Context, rep *MigrationReport) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.migrateLockKey()); err != nil {
		return err
	}
	if err := s.migrateIn(ctx, tx, rep); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateMySQL has no transaction to work in: MySQL commits DDL at once.
// Two processes may both find the column or a trigger missing; the second
// ALTER TABLE or CREATE TRIGGER then fails (duplicate column, trigger
// exists), and what it would have added is there. Both may also find the
// cut-offs table missing and backfill: the second finds nothing more to
// do, unless a third process, done migrating, issued idle-only tokens in
// between, which are then capped at their expiry.
func (s *Store) migrateMySQL(ctx context.Context, rep *MigrationReport) error {
	return s.migrateIn(ctx, s.db, rep)
}

// hasTriggerMySQL counts the triggers of the current database with a name.
const hasTriggerMySQL = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = ?"

// hasTrigger reports whether the MySQL trigger exists.
func (s *Store) hasTrigger(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, hasTriggerMySQL, name).Scan(&n)
	return n > 0, err
}

// migrateSQLite runs the DDL in a BEGIN IMMEDIATE transaction on one
// connection: database/sql's BeginTx would start a deferred transaction,
// which can fail at once, without waiting, when another process writes
// first.
func (s *Store) migrateSQLite(ctx context.Context, rep *MigrationReport) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err = s.migrateIn(ctx, conn, rep)
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
