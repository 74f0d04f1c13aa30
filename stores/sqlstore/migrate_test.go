package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// statements splits Schema's text into what Migrate executes: the tables
// and indexes, then the triggers. On MySQL, each trigger's statements are
// a DROP TRIGGER IF EXISTS, which Migrate never runs, and the CREATE
// TRIGGER.
func statements(t *testing.T, d sqlstore.Dialect) (tables, triggers []string) {
	t.Helper()
	ddl, err := sqlstore.Schema(d, "")
	require.NoError(t, err)
	stmts := strings.Split(strings.TrimSuffix(ddl, ";\n"), ";\n\n")
	first := map[sqlstore.Dialect]string{
		sqlstore.Postgres: "CREATE OR REPLACE FUNCTION ",
		sqlstore.MySQL:    "DROP TRIGGER IF EXISTS ",
		sqlstore.SQLite:   "CREATE TRIGGER IF NOT EXISTS ",
	}[d]
	i := slices.IndexFunc(stmts, func(s string) bool { return strings.HasPrefix(s, first) })
	require.Positive(t, i, "Schema has triggers after its tables")
	return stmts[:i], stmts[i:]
}

// The queries with which Migrate lists the table's columns.
const (
	columnsPG       = "SELECT attname FROM pg_attribute WHERE attrelid = CAST($1 AS text)::regclass AND attnum > 0 AND NOT attisdropped"
	columnsMySQL    = "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
	tableInfoSQLite = `PRAGMA table_info("tokenauth_tokens")`
	hasTriggerMySQL = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = ?"
)

// The query with which Migrate tells an upgrade from before v0.1.0: is
// the cut-offs table there yet?
var lacksCutoffsSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "SELECT COUNT(to_regclass($1))",
	sqlstore.MySQL:    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
	sqlstore.SQLite:   "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
}

// expectCutoffsTable expects the look-up of the cut-offs table, which
// finds n.
func expectCutoffsTable(mock sqlmock.Sqlmock, d sqlstore.Dialect, n int) *sqlmock.ExpectedQuery {
	arg := "tokenauth_tokens_cutoffs"
	if d == sqlstore.Postgres {
		arg = `"` + arg + `"`
	}
	return mock.ExpectQuery(lacksCutoffsSQL[d]).WithArgs(arg).WillReturnRows(count(n))
}

// backfillSQL gives tokens without an absolute deadline their expiry as
// one, once, when upgrading from before v0.1.0.
var backfillSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `UPDATE "tokenauth_tokens" SET max_expires_at = expires_at WHERE max_expires_at IS NULL AND expires_at IS NOT NULL`,
	sqlstore.MySQL:    "UPDATE `tokenauth_tokens` SET max_expires_at = expires_at WHERE max_expires_at IS NULL AND expires_at IS NOT NULL",
	sqlstore.SQLite:   `UPDATE "tokenauth_tokens" SET max_expires_at = expires_at WHERE max_expires_at IS NULL AND expires_at IS NOT NULL`,
}

// count is a COUNT(*) result.
func count(n int) *sqlmock.Rows { return sqlmock.NewRows([]string{"count"}).AddRow(n) }

// tableInfo is PRAGMA table_info's result for a table with the given
// columns.
func tableInfo(columns ...string) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"cid", "name", "type", "notnull", "dflt_value", "pk"})
	for i, c := range columns {
		rows.AddRow(i, c, "INTEGER", 0, nil, 0)
	}
	return rows
}

// columnNames is the column listing's result on PostgreSQL and MySQL.
func columnNames(columns ...string) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"name"})
	for _, c := range columns {
		rows.AddRow(c)
	}
	return rows
}

// The tokens table's columns in each schema: before max_expires_at (v1),
// before the policy columns (b4bfc5b and v0.1.0, 4a654d6), and now.
var (
	v1Columns     = strings.Split("id, user_id, name, scopes, digest, created_at, expires_at, last_used_at", ", ")
	v010Columns   = append(slices.Clone(v1Columns), "max_expires_at")
	policyColumns = strings.Split("personal, not_before, allowed_ips, denied_ips, rate_limit, rate_window_ns, created_from, user_agent", ", ")
	allColumns    = append(slices.Clone(v010Columns), policyColumns...)
)

// policyDecls declares the policy columns on each dialect, as ALTER TABLE
// adds them.
var policyDecls = map[sqlstore.Dialect][]string{
	sqlstore.Postgres: {"personal BOOLEAN NOT NULL DEFAULT FALSE", "not_before TIMESTAMPTZ", "allowed_ips TEXT", "denied_ips TEXT",
		"rate_limit BIGINT", "rate_window_ns BIGINT", "created_from VARCHAR(64)", "user_agent VARCHAR(256)"},
	sqlstore.MySQL: {"personal BOOLEAN NOT NULL DEFAULT FALSE", "not_before DATETIME(6) NULL", "allowed_ips TEXT NULL", "denied_ips TEXT NULL",
		"rate_limit BIGINT NULL", "rate_window_ns BIGINT NULL", "created_from VARCHAR(64) NULL", "user_agent VARCHAR(256) NULL"},
	sqlstore.SQLite: {"personal INTEGER NOT NULL DEFAULT 0", "not_before INTEGER", "allowed_ips TEXT", "denied_ips TEXT",
		"rate_limit INTEGER", "rate_window_ns INTEGER", "created_from TEXT", "user_agent TEXT"},
}

// alterSQL is what Migrate runs to add the columns declared by decls to
// the default table: one ALTER TABLE on PostgreSQL and MySQL, one per
// column on SQLite.
func alterSQL(d sqlstore.Dialect, decls ...string) []string {
	table := `"tokenauth_tokens"`
	if d == sqlstore.MySQL {
		table = "`tokenauth_tokens`"
	}
	if d == sqlstore.SQLite || len(decls) == 1 {
		var out []string
		for _, decl := range decls {
			out = append(out, "ALTER TABLE "+table+" ADD COLUMN "+decl)
		}
		return out
	}
	return []string{"ALTER TABLE " + table + "\n    ADD COLUMN " + strings.Join(decls, ",\n    ADD COLUMN ")}
}

// addPolicySQL adds the policy columns to a table of v0.1.0's schema;
// addAllSQL adds max_expires_at and them to one of the first schema.
func addPolicySQL(d sqlstore.Dialect) []string { return alterSQL(d, policyDecls[d]...) }

func addAllSQL(d sqlstore.Dialect) []string {
	return alterSQL(d, append([]string{maxExpiresDecl[d]}, policyDecls[d]...)...)
}

// maxExpiresDecl declares max_expires_at, as upgradeSQL adds it.
var maxExpiresDecl = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "max_expires_at TIMESTAMPTZ",
	sqlstore.MySQL:    "max_expires_at DATETIME(6) NULL",
	sqlstore.SQLite:   "max_expires_at INTEGER",
}

func TestMigrateStatements(t *testing.T) {
	ctx := context.Background()
	exec := func(mock sqlmock.Sqlmock, stmts ...string) {
		for _, stmt := range stmts {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
	}
	// The schemas Migrate upgrades: their columns, whether they had the
	// cut-offs table, and what Migrate adds.
	type schema struct {
		name    string
		columns []string
		cutoffs int
		add     func(sqlstore.Dialect) []string
	}
	upToDate := schema{"up to date", allColumns, 1, func(sqlstore.Dialect) []string { return nil }}
	schemas := []schema{
		upToDate,
		{"from the first schema: columns added, backfilled", v1Columns, 0, addAllSQL},
		{"from b4bfc5b's schema: policy columns added, backfilled", v010Columns, 0, addPolicySQL},
		{"from v0.1.0's schema (4a654d6): policy columns added", v010Columns, 1, addPolicySQL},
	}

	pgTables, pgTriggers := statements(t, sqlstore.Postgres)
	require.Len(t, pgTables, 7)
	require.Len(t, pgTriggers, 2)
	listPG := func(mock sqlmock.Sqlmock) *sqlmock.ExpectedQuery {
		return mock.ExpectQuery(columnsPG).WithArgs(`"tokenauth_tokens"`)
	}
	for _, tc := range schemas {
		t.Run("postgres: "+tc.name+", in one transaction under an advisory lock", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.Postgres)
			mock.ExpectBegin()
			mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
			expectCutoffsTable(mock, sqlstore.Postgres, tc.cutoffs)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(tc.columns...))
			exec(mock, tc.add(sqlstore.Postgres)...)
			if tc.cutoffs == 0 {
				mock.ExpectExec(backfillSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 0))
			}
			exec(mock, pgTriggers...) // after the columns, which they name
			mock.ExpectCommit()
			require.NoError(t, s.Migrate(ctx))
		})
	}
	t.Run("postgres: failure rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectBegin()
		mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnError(errDown)
		mock.ExpectRollback()
		err := s.Migrate(ctx)
		assert.ErrorIs(t, err, errDown)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: migrate: "))
	})
	for _, tc := range []struct {
		name   string
		expect func(mock sqlmock.Sqlmock)
	}{
		{"table look-up", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(lacksCutoffsSQL[sqlstore.Postgres]).WillReturnError(errDown)
		}},
		{"column look-up", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 0)
			exec(mock, pgTables...)
			listPG(mock).WillReturnError(errDown)
		}},
		{"column listing", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 1)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(v1Columns...).RowError(3, errDown))
		}},
		{"ALTER TABLE", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 1)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(v010Columns...))
			mock.ExpectExec(addPolicySQL(sqlstore.Postgres)[0]).WillReturnError(errDown)
		}},
		{"backfill", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 0)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectExec(backfillSQL[sqlstore.Postgres]).WillReturnError(errDown)
		}},
		{"backfill's count", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 0)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectExec(backfillSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewErrorResult(errDown))
		}},
		{"trigger", func(mock sqlmock.Sqlmock) {
			expectCutoffsTable(mock, sqlstore.Postgres, 1)
			exec(mock, pgTables...)
			listPG(mock).WillReturnRows(columnNames(allColumns...))
			exec(mock, pgTriggers[0])
			mock.ExpectExec(pgTriggers[1]).WillReturnError(errDown)
		}},
	} {
		t.Run("postgres: a failed "+tc.name+" rolls back", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.Postgres)
			mock.ExpectBegin()
			mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
			tc.expect(mock)
			mock.ExpectRollback()
			assert.ErrorIs(t, s.Migrate(ctx), errDown)
		})
	}

	myTables, myTriggers := statements(t, sqlstore.MySQL)
	require.Len(t, myTables, 4)
	require.Len(t, myTriggers, 4)
	onDelete, onExpire := myTriggers[1], myTriggers[3]
	require.Equal(t, "DROP TRIGGER IF EXISTS `tokenauth_tokens_on_delete`", myTriggers[0])
	require.Equal(t, "DROP TRIGGER IF EXISTS `tokenauth_tokens_on_expire`", myTriggers[2])
	triggersPresent := func(mock sqlmock.Sqlmock) {
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(1))
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(1))
	}
	listMySQL := func(mock sqlmock.Sqlmock) *sqlmock.ExpectedQuery {
		return mock.ExpectQuery(columnsMySQL).WithArgs("tokenauth_tokens")
	}
	errDuplicate := errors.New("Error 1060 (42S21): Duplicate column name 'personal'")
	errTriggerExists := errors.New("Error 1359 (HY000): Trigger already exists")
	type mysqlCase struct {
		name    string
		cutoffs int // the cut-offs table found before the DDL
		expect  func(mock sqlmock.Sqlmock)
		wantErr error
	}
	var mysqlCases []mysqlCase
	for _, sc := range schemas {
		mysqlCases = append(mysqlCases, mysqlCase{sc.name, sc.cutoffs, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(sc.columns...))
			exec(mock, sc.add(sqlstore.MySQL)...)
			if sc.cutoffs == 0 {
				mock.ExpectExec(backfillSQL[sqlstore.MySQL]).WillReturnResult(sqlmock.NewResult(0, 3))
			}
			triggersPresent(mock)
		}, nil})
	}
	mysqlCases = append(mysqlCases, []mysqlCase{
		{"columns added meanwhile by another process", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(v010Columns...))
			mock.ExpectExec(addPolicySQL(sqlstore.MySQL)[0]).WillReturnError(errDuplicate)
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			triggersPresent(mock)
		}, nil},
		{"ALTER TABLE fails", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(v010Columns...))
			mock.ExpectExec(addPolicySQL(sqlstore.MySQL)[0]).WillReturnError(errDown)
			listMySQL(mock).WillReturnRows(columnNames(v010Columns...))
		}, errDown},
		{"ALTER TABLE and the look-up after it fail", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(v010Columns...))
			mock.ExpectExec(addPolicySQL(sqlstore.MySQL)[0]).WillReturnError(errDown)
			listMySQL(mock).WillReturnError(errors.New("lost connection"))
		}, errDown},
		{"column lookup fails", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnError(errDown)
		}, errDown},
		{"backfill fails", 0, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectExec(backfillSQL[sqlstore.MySQL]).WillReturnError(errDown)
		}, errDown},
		{"triggers created", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			exec(mock, onDelete)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(0))
			exec(mock, onExpire)
		}, nil},
		{"trigger created meanwhile by another process", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			mock.ExpectExec(onDelete).WillReturnError(errTriggerExists)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(1))
		}, nil},
		{"CREATE TRIGGER fails", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			mock.ExpectExec(onDelete).WillReturnError(errDown)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
		}, errDown},
		{"trigger lookup fails", 1, func(mock sqlmock.Sqlmock) {
			listMySQL(mock).WillReturnRows(columnNames(allColumns...))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnError(errDown)
		}, errDown},
	}...)
	for _, tc := range mysqlCases {
		t.Run("mysql: CREATE TABLE, then "+tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.MySQL)
			expectCutoffsTable(mock, sqlstore.MySQL, tc.cutoffs)
			exec(mock, myTables...)
			tc.expect(mock)
			checkErr(t, s.Migrate(ctx), tc.wantErr)
		})
	}
	t.Run("mysql: CREATE TABLE fails", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		expectCutoffsTable(mock, sqlstore.MySQL, 1)
		mock.ExpectExec(myTables[0]).WillReturnError(errDown)
		checkErr(t, s.Migrate(ctx), errDown)
	})

	liteTables, liteTriggers := statements(t, sqlstore.SQLite)
	require.Len(t, liteTables, 7)
	require.Len(t, liteTriggers, 2)
	for _, tc := range schemas {
		t.Run("sqlite: "+tc.name+", in BEGIN IMMEDIATE", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			exec(mock, "BEGIN IMMEDIATE")
			expectCutoffsTable(mock, sqlstore.SQLite, tc.cutoffs)
			exec(mock, liteTables...)
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(tc.columns...))
			exec(mock, tc.add(sqlstore.SQLite)...)
			if tc.cutoffs == 0 {
				mock.ExpectExec(backfillSQL[sqlstore.SQLite]).WillReturnResult(sqlmock.NewResult(0, 0))
			}
			exec(mock, liteTriggers...)
			exec(mock, "COMMIT")
			require.NoError(t, s.Migrate(ctx))
		})
	}
	t.Run("sqlite: failure rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		exec(mock, "BEGIN IMMEDIATE")
		expectCutoffsTable(mock, sqlstore.SQLite, 1)
		exec(mock, liteTables[0])
		mock.ExpectExec(liteTables[1]).WillReturnError(errDown)
		exec(mock, "ROLLBACK")
		assert.ErrorIs(t, s.Migrate(ctx), errDown)
	})
	for _, tc := range []struct {
		name   string
		expect func(mock sqlmock.Sqlmock)
	}{
		{"table_info fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnError(errDown)
		}},
		{"table_info row fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(v1Columns...).RowError(2, errDown))
		}},
		{"ALTER TABLE fails half-way", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(v010Columns...))
			add := addPolicySQL(sqlstore.SQLite)
			exec(mock, add[:3]...)
			mock.ExpectExec(add[3]).WillReturnError(errDown)
		}},
		{"CREATE TRIGGER fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(allColumns...))
			mock.ExpectExec(liteTriggers[0]).WillReturnError(errDown)
		}},
	} {
		t.Run("sqlite: "+tc.name+" rolls back", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			exec(mock, "BEGIN IMMEDIATE")
			expectCutoffsTable(mock, sqlstore.SQLite, 1)
			exec(mock, liteTables...)
			tc.expect(mock)
			exec(mock, "ROLLBACK")
			assert.ErrorIs(t, s.Migrate(ctx), errDown)
		})
	}
	t.Run("sqlite: table_info without a name column", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		exec(mock, "BEGIN IMMEDIATE")
		expectCutoffsTable(mock, sqlstore.SQLite, 1)
		exec(mock, liteTables...)
		mock.ExpectQuery(tableInfoSQLite).WillReturnRows(sqlmock.NewRows([]string{"cid"}).AddRow(0))
		exec(mock, "ROLLBACK")
		assert.ErrorContains(t, s.Migrate(ctx), "no name column")
	})
	t.Run("sqlite: failed commit and rollback", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		exec(mock, "BEGIN IMMEDIATE")
		expectCutoffsTable(mock, sqlstore.SQLite, 1)
		exec(mock, liteTables...)
		mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(allColumns...))
		exec(mock, liteTriggers...)
		busy := &codeError{5}
		mock.ExpectExec("COMMIT").WillReturnError(busy)
		mock.ExpectExec("ROLLBACK").WillReturnError(errDown)
		assert.ErrorIs(t, s.Migrate(ctx), busy)
	})
	t.Run("sqlite: a busy database is an error", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec("BEGIN IMMEDIATE").WillReturnError(&codeError{5})
		assert.Error(t, s.Migrate(ctx))
	})
}

// MigrateReport counts what the backfill changed and the tokens that
// never expire, and names the columns it added; the backfill is logged at
// WARN, the columns at INFO.
func TestMigrateReport(t *testing.T) {
	ctx := context.Background()
	const countNeverExpire = "SELECT COUNT(*) FROM `tokenauth_tokens` WHERE expires_at IS NULL"
	expectMigrate := func(mock sqlmock.Sqlmock, cutoffs int, backfilled int64, columns ...string) {
		tables, _ := statements(t, sqlstore.MySQL)
		expectCutoffsTable(mock, sqlstore.MySQL, cutoffs)
		for _, stmt := range tables {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
		if columns == nil {
			columns = allColumns
		}
		mock.ExpectQuery(columnsMySQL).WithArgs("tokenauth_tokens").WillReturnRows(columnNames(columns...))
		if len(columns) < len(allColumns) {
			mock.ExpectExec(addPolicySQL(sqlstore.MySQL)[0]).WillReturnResult(sqlmock.NewResult(0, 0))
		}
		if cutoffs == 0 {
			mock.ExpectExec(backfillSQL[sqlstore.MySQL]).WillReturnResult(sqlmock.NewResult(0, backfilled))
		}
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(1))
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(1))
	}
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	defer db.Close()
	var logs bytes.Buffer
	s, err := sqlstore.New(db, sqlstore.MySQL, sqlstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)

	expectMigrate(mock, 0, 3)
	mock.ExpectQuery(countNeverExpire).WillReturnRows(count(2))
	rep, err := s.MigrateReport(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.MigrationReport{Backfilled: 3, NeverExpire: 2}, rep)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "tokens=3")

	logs.Reset()
	expectMigrate(mock, 1, 0)
	mock.ExpectQuery(countNeverExpire).WillReturnRows(count(2))
	rep, err = s.MigrateReport(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.MigrationReport{NeverExpire: 2}, rep, "the backfill runs once")
	assert.Empty(t, logs.String())

	expectMigrate(mock, 1, 0, v010Columns...)
	mock.ExpectQuery(countNeverExpire).WillReturnRows(count(0))
	rep, err = s.MigrateReport(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.MigrationReport{AddedColumns: policyColumns}, rep)
	assert.Contains(t, logs.String(), "level=INFO")
	assert.Contains(t, logs.String(), "columns=\"[personal not_before allowed_ips denied_ips rate_limit rate_window_ns created_from user_agent]\"")

	expectMigrate(mock, 1, 0)
	mock.ExpectQuery(countNeverExpire).WillReturnError(errDown)
	_, err = s.MigrateReport(ctx)
	checkErr(t, err, errDown)

	expectMigrate(mock, 1, 0) // Migrate counts nothing
	require.NoError(t, s.Migrate(ctx))
	assert.NoError(t, mock.ExpectationsWereMet())
}
