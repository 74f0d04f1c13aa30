package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

func TestSchema(t *testing.T) {
	for _, tc := range []struct {
		d    sqlstore.Dialect
		want []string
	}{
		{sqlstore.Postgres, []string{
			`CREATE TABLE IF NOT EXISTS "api_tokens" (`,
			"digest         BYTEA        NOT NULL,",
			"created_at     TIMESTAMPTZ  NOT NULL,",
			"max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline",
			`CONSTRAINT "api_tokens_pkey" PRIMARY KEY (id),`,
			`CONSTRAINT "api_tokens_digest_key" UNIQUE (digest)`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_expires_at_idx" ON "api_tokens" (expires_at) WHERE expires_at IS NOT NULL;`,
			`CREATE OR REPLACE FUNCTION "api_tokens_notify"() RETURNS trigger LANGUAGE plpgsql AS $$`,
			`PERFORM pg_notify('api_tokens_revocations', json_build_array(OLD.id, OLD.user_id)::text);`,
			`IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"api_tokens"'::regclass AND tgname = 'api_tokens_on_delete') THEN`,
			`CREATE TRIGGER "api_tokens_on_delete" AFTER DELETE ON "api_tokens"`,
			`CREATE TRIGGER "api_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "api_tokens"`,
			`FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)`,
			`OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL))`,
		}},
		{sqlstore.MySQL, []string{
			"CREATE TABLE IF NOT EXISTS `api_tokens` (",
			"id             VARBINARY(64)  NOT NULL,",
			"digest         VARBINARY(64)  NOT NULL,",
			"expires_at     DATETIME(6)    NULL,",
			"max_expires_at DATETIME(6)    NULL,",
			"UNIQUE KEY digest_key (digest),",
			"KEY user_id_idx (user_id, created_at),",
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
			"CREATE TABLE IF NOT EXISTS `api_tokens_revocations` (",
			"seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,",
			"DROP TRIGGER IF EXISTS `api_tokens_on_delete`;\n\nCREATE TRIGGER `api_tokens_on_delete` AFTER DELETE ON `api_tokens` FOR EACH ROW\n" +
				"INSERT INTO `api_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));",
			"DROP TRIGGER IF EXISTS `api_tokens_on_expire`;\n\nCREATE TRIGGER `api_tokens_on_expire` AFTER UPDATE ON `api_tokens` FOR EACH ROW\n" +
				"IF NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)\n" +
				"   OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL) THEN\n" +
				"    INSERT INTO `api_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));\n" +
				"END IF;",
		}},
		{sqlstore.SQLite, []string{
			`CREATE TABLE IF NOT EXISTS "api_tokens" (`,
			"digest         BLOB    NOT NULL UNIQUE,",
			"created_at     INTEGER NOT NULL, -- Unix microseconds, UTC",
			"max_expires_at INTEGER           -- Unix microseconds; NULL: no absolute deadline",
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
			`CREATE TABLE IF NOT EXISTS "api_tokens_revocations" (`,
			"seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,",
			`CREATE INDEX IF NOT EXISTS "api_tokens_revocations_created_at_idx" ON "api_tokens_revocations" (created_at);`,
			`CREATE TRIGGER IF NOT EXISTS "api_tokens_on_delete" AFTER DELETE ON "api_tokens"`,
			`CREATE TRIGGER IF NOT EXISTS "api_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "api_tokens"`,
			`INSERT INTO "api_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));` + "\nEND;",
		}},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			ddl, err := sqlstore.Schema(tc.d, "api_tokens")
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.Contains(t, ddl, w)
			}
			assert.True(t, strings.HasSuffix(ddl, ";\n"))
			def, err := sqlstore.Schema(tc.d, "")
			require.NoError(t, err)
			assert.Equal(t, strings.ReplaceAll(ddl, "api_tokens", sqlstore.DefaultTable), def, "empty means DefaultTable")
		})
	}
	_, err := sqlstore.Schema(0, "")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	_, err = sqlstore.Schema(sqlstore.Postgres, "Tokens; DROP TABLE users")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}

// upgradeSQL is the statement that adds max_expires_at to a table created
// before it existed, on each dialect, for the default table.
var upgradeSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at TIMESTAMPTZ`,
	sqlstore.MySQL:    "ALTER TABLE `tokenauth_tokens` ADD COLUMN max_expires_at DATETIME(6) NULL",
	sqlstore.SQLite:   `ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at INTEGER`,
}

// The README shows each dialect's schema as Schema returns it, and the
// statement that upgrades an older table as Migrate runs it.
func TestREADMEShowsTheSchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		ddl, err := sqlstore.Schema(d, "")
		require.NoError(t, err)
		assert.Contains(t, string(readme), "```sql\n"+ddl+"```", "README.md's %s schema is out of date", d)
		assert.Contains(t, string(readme), "```sql\n"+upgradeSQL[d]+";\n```", "README.md's %s upgrade is out of date", d)
	}
}

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

// The queries with which Migrate looks for max_expires_at.
const (
	hasColumnPG = "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = CAST($1 AS text)::regclass" +
		" AND attname = 'max_expires_at' AND NOT attisdropped"
	hasColumnMySQL = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()" +
		" AND TABLE_NAME = ? AND COLUMN_NAME = 'max_expires_at'"
	tableInfoSQLite = `PRAGMA table_info("tokenauth_tokens")`
	hasTriggerMySQL = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = ?"
)

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

var (
	oldColumns = strings.Split("id, user_id, name, scopes, digest, created_at, expires_at, last_used_at", ", ")
	newColumns = append(slices.Clone(oldColumns), "max_expires_at")
)

func TestMigrateStatements(t *testing.T) {
	ctx := context.Background()
	exec := func(mock sqlmock.Sqlmock, stmts ...string) {
		for _, stmt := range stmts {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
	}

	pgTables, pgTriggers := statements(t, sqlstore.Postgres)
	require.Len(t, pgTables, 3)
	require.Len(t, pgTriggers, 2)
	for _, tc := range []struct {
		name  string
		found int
	}{{"postgres: column present", 1}, {"postgres: column added", 0}} {
		t.Run(tc.name+", in one transaction under an advisory lock", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.Postgres)
			mock.ExpectBegin()
			mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
			exec(mock, pgTables...)
			mock.ExpectQuery(hasColumnPG).WithArgs(`"tokenauth_tokens"`).WillReturnRows(count(tc.found))
			if tc.found == 0 {
				exec(mock, upgradeSQL[sqlstore.Postgres])
			}
			exec(mock, pgTriggers...) // after the column, which they name
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
	t.Run("postgres: a failed column lookup rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectBegin()
		mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
		exec(mock, pgTables...)
		mock.ExpectQuery(hasColumnPG).WithArgs(`"tokenauth_tokens"`).WillReturnError(errDown)
		mock.ExpectRollback()
		assert.ErrorIs(t, s.Migrate(ctx), errDown)
	})
	t.Run("postgres: a failed trigger rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectBegin()
		mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
		exec(mock, pgTables...)
		mock.ExpectQuery(hasColumnPG).WithArgs(`"tokenauth_tokens"`).WillReturnRows(count(1))
		exec(mock, pgTriggers[0])
		mock.ExpectExec(pgTriggers[1]).WillReturnError(errDown)
		mock.ExpectRollback()
		assert.ErrorIs(t, s.Migrate(ctx), errDown)
	})

	myTables, myTriggers := statements(t, sqlstore.MySQL)
	require.Len(t, myTables, 2)
	require.Len(t, myTriggers, 4)
	onDelete, onExpire := myTriggers[1], myTriggers[3]
	require.Equal(t, "DROP TRIGGER IF EXISTS `tokenauth_tokens_on_delete`", myTriggers[0])
	require.Equal(t, "DROP TRIGGER IF EXISTS `tokenauth_tokens_on_expire`", myTriggers[2])
	triggersPresent := func(mock sqlmock.Sqlmock) {
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(1))
		mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(1))
	}
	errDuplicate := errors.New("Error 1060 (42S21): Duplicate column name 'max_expires_at'")
	errTriggerExists := errors.New("Error 1359 (HY000): Trigger already exists")
	for _, tc := range []struct {
		name    string
		expect  func(mock sqlmock.Sqlmock)
		wantErr error
	}{
		{"column and triggers present", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			triggersPresent(mock)
		}, nil},
		{"column added", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(0))
			exec(mock, upgradeSQL[sqlstore.MySQL])
			triggersPresent(mock)
		}, nil},
		{"column added meanwhile by another process", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(0))
			mock.ExpectExec(upgradeSQL[sqlstore.MySQL]).WillReturnError(errDuplicate)
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			triggersPresent(mock)
		}, nil},
		{"ALTER TABLE fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(0))
			mock.ExpectExec(upgradeSQL[sqlstore.MySQL]).WillReturnError(errDown)
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(0))
		}, errDown},
		{"column lookup fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnError(errDown)
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnError(errDown)
		}, errDown},
		{"triggers created", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			exec(mock, onDelete)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(0))
			exec(mock, onExpire)
		}, nil},
		{"trigger created meanwhile by another process", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			mock.ExpectExec(onDelete).WillReturnError(errTriggerExists)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_expire").WillReturnRows(count(1))
		}, nil},
		{"CREATE TRIGGER fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
			mock.ExpectExec(onDelete).WillReturnError(errDown)
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnRows(count(0))
		}, errDown},
		{"trigger lookup fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(hasColumnMySQL).WithArgs("tokenauth_tokens").WillReturnRows(count(1))
			mock.ExpectQuery(hasTriggerMySQL).WithArgs("tokenauth_tokens_on_delete").WillReturnError(errDown)
		}, errDown},
	} {
		t.Run("mysql: CREATE TABLE, then "+tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.MySQL)
			exec(mock, myTables...)
			tc.expect(mock)
			checkErr(t, s.Migrate(ctx), tc.wantErr)
		})
	}
	t.Run("mysql: CREATE TABLE fails", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(myTables[0]).WillReturnError(errDown)
		checkErr(t, s.Migrate(ctx), errDown)
	})

	liteTables, liteTriggers := statements(t, sqlstore.SQLite)
	require.Len(t, liteTables, 5)
	require.Len(t, liteTriggers, 2)
	for _, tc := range []struct {
		name    string
		columns []string
	}{{"sqlite: column present", newColumns}, {"sqlite: column added", oldColumns}} {
		t.Run(tc.name+", in BEGIN IMMEDIATE", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			exec(mock, "BEGIN IMMEDIATE")
			exec(mock, liteTables...)
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(tc.columns...))
			if !slices.Contains(tc.columns, "max_expires_at") {
				exec(mock, upgradeSQL[sqlstore.SQLite])
			}
			exec(mock, liteTriggers...)
			exec(mock, "COMMIT")
			require.NoError(t, s.Migrate(ctx))
		})
	}
	t.Run("sqlite: failure rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		exec(mock, "BEGIN IMMEDIATE", liteTables[0])
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
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(oldColumns...).RowError(2, errDown))
		}},
		{"ALTER TABLE fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(oldColumns...))
			mock.ExpectExec(upgradeSQL[sqlstore.SQLite]).WillReturnError(errDown)
		}},
		{"CREATE TRIGGER fails", func(mock sqlmock.Sqlmock) {
			mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(newColumns...))
			mock.ExpectExec(liteTriggers[0]).WillReturnError(errDown)
		}},
	} {
		t.Run("sqlite: "+tc.name+" rolls back", func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			exec(mock, "BEGIN IMMEDIATE")
			exec(mock, liteTables...)
			tc.expect(mock)
			exec(mock, "ROLLBACK")
			assert.ErrorIs(t, s.Migrate(ctx), errDown)
		})
	}
	t.Run("sqlite: failed commit and rollback", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		exec(mock, "BEGIN IMMEDIATE")
		exec(mock, liteTables...)
		mock.ExpectQuery(tableInfoSQLite).WillReturnRows(tableInfo(newColumns...))
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
