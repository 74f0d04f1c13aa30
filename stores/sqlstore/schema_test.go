package sqlstore_test

import (
	"context"
	"os"
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
			"digest       BYTEA        NOT NULL,",
			"created_at   TIMESTAMPTZ  NOT NULL,",
			`CONSTRAINT "api_tokens_pkey" PRIMARY KEY (id),`,
			`CONSTRAINT "api_tokens_digest_key" UNIQUE (digest)`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_expires_at_idx" ON "api_tokens" (expires_at) WHERE expires_at IS NOT NULL;`,
		}},
		{sqlstore.MySQL, []string{
			"CREATE TABLE IF NOT EXISTS `api_tokens` (",
			"id           VARBINARY(64)  NOT NULL,",
			"digest       VARBINARY(64)  NOT NULL,",
			"expires_at   DATETIME(6)    NULL,",
			"UNIQUE KEY digest_key (digest),",
			"KEY user_id_idx (user_id, created_at),",
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
		}},
		{sqlstore.SQLite, []string{
			`CREATE TABLE IF NOT EXISTS "api_tokens" (`,
			"digest       BLOB    NOT NULL UNIQUE,",
			"created_at   INTEGER NOT NULL, -- Unix microseconds, UTC",
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
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

// The README shows each dialect's schema as Schema returns it.
func TestREADMEShowsTheSchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		ddl, err := sqlstore.Schema(d, "")
		require.NoError(t, err)
		assert.Contains(t, string(readme), "```sql\n"+ddl+"```", "README.md's %s schema is out of date", d)
	}
}

// statements splits Schema's text into what Migrate executes.
func statements(t *testing.T, d sqlstore.Dialect) []string {
	t.Helper()
	ddl, err := sqlstore.Schema(d, "")
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(ddl, ";\n"), ";\n\n")
}

func TestMigrateStatements(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres: one transaction under an advisory lock", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		stmts := statements(t, sqlstore.Postgres)
		require.Len(t, stmts, 3)
		mock.ExpectBegin()
		mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnResult(sqlmock.NewResult(0, 0))
		for _, stmt := range stmts {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
		mock.ExpectCommit()
		require.NoError(t, s.Migrate(ctx))
	})
	t.Run("postgres: failure rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectBegin()
		mock.ExpectExec("SELECT pg_advisory_xact_lock($1)").WithArgs(sqlmock.AnyArg()).WillReturnError(errDown)
		mock.ExpectRollback()
		err := s.Migrate(ctx)
		assert.ErrorIs(t, err, errDown)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: migrate: "))
	})
	t.Run("mysql: one statement", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		stmts := statements(t, sqlstore.MySQL)
		require.Len(t, stmts, 1)
		mock.ExpectExec(stmts[0]).WillReturnResult(sqlmock.NewResult(0, 0))
		require.NoError(t, s.Migrate(ctx))
	})
	t.Run("sqlite: BEGIN IMMEDIATE", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec("BEGIN IMMEDIATE").WillReturnResult(sqlmock.NewResult(0, 0))
		for _, stmt := range statements(t, sqlstore.SQLite) {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
		mock.ExpectExec("COMMIT").WillReturnResult(sqlmock.NewResult(0, 0))
		require.NoError(t, s.Migrate(ctx))
	})
	t.Run("sqlite: failure rolls back", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		stmts := statements(t, sqlstore.SQLite)
		mock.ExpectExec("BEGIN IMMEDIATE").WillReturnResult(sqlmock.NewResult(0, 0))
		mock.ExpectExec(stmts[0]).WillReturnResult(sqlmock.NewResult(0, 0))
		mock.ExpectExec(stmts[1]).WillReturnError(errDown)
		mock.ExpectExec("ROLLBACK").WillReturnResult(sqlmock.NewResult(0, 0))
		assert.ErrorIs(t, s.Migrate(ctx), errDown)
	})
	t.Run("sqlite: failed commit and rollback", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec("BEGIN IMMEDIATE").WillReturnResult(sqlmock.NewResult(0, 0))
		for _, stmt := range statements(t, sqlstore.SQLite) {
			mock.ExpectExec(stmt).WillReturnResult(sqlmock.NewResult(0, 0))
		}
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
