package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Environment variables naming the live servers of the integration tests.
const (
	envPostgres = "TOKENAUTH_TEST_POSTGRES_DSN"
	envMySQL    = "TOKENAUTH_TEST_MYSQL_DSN"
)

// backend is a database the integration tests and benchmarks run against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	env     string // empty: always available (SQLite in a temporary file)
	example string // a value for env, for the skip message
}

var backends = []backend{
	{name: "sqlite", dialect: sqlstore.SQLite},
	{name: "postgres", dialect: sqlstore.Postgres, env: envPostgres, example: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
	{name: "mysql", dialect: sqlstore.MySQL, env: envMySQL, example: "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
}

// forEachBackend runs f in a subtest per backend, with the backend's
// database open. A server whose DSN is not set is skipped, saying which
// variable to set.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend, db *sql.DB)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b, b.open(t)) })
	}
}

// open opens the backend's database through sqlstore.Open, closed at the
// end of the test, or skips tb when its DSN is not set.
func (b backend) open(tb testing.TB) *sql.DB {
	tb.Helper()
	dsn := "sqlite:" + filepath.Join(tb.TempDir(), "tokens.db")
	if b.env != "" {
		dsn = os.Getenv(b.env)
		if dsn == "" {
			tb.Skipf("%s integration tests skipped: set %s to a test database's DSN, e.g. %s", b.name, b.env, b.example)
		}
	}
	db, _, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	require.NoError(tb, err, "opening the %s database (from %s)", b.name, b.env)
	tb.Cleanup(func() { db.Close() })
	return db
}

// uniqueTable returns a fresh table name, so that concurrent test runs
// against one server do not meet.
func uniqueTable(tb testing.TB) string {
	tb.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "tokenauth_test_" + hex.EncodeToString(b[:])
}

// newTestStore returns a Store over a new, migrated table in db, dropped at
// the end of the test.
func newTestStore(tb testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.New(db, d, sqlstore.Options{Table: uniqueTable(tb)})
	require.NoError(tb, err)
	dropTable(tb, db, d, s.Table())
	require.NoError(tb, s.Migrate(context.Background()))
	return s
}

// dropTable drops table, with its triggers and their function or
// revocation log, at the end of the test.
func dropTable(tb testing.TB, db *sql.DB, d sqlstore.Dialect, table string) {
	tb.Helper()
	stmts := []string{`DROP TABLE IF EXISTS "` + table + `"`, `DROP FUNCTION IF EXISTS "` + table + `_notify"()`}
	switch d {
	case sqlstore.MySQL:
		stmts = []string{"DROP TABLE IF EXISTS `" + table + "`", "DROP TABLE IF EXISTS `" + table + "_revocations`"}
	case sqlstore.SQLite:
		stmts = []string{`DROP TABLE IF EXISTS "` + table + `"`, `DROP TABLE IF EXISTS "` + table + `_revocations"`}
	}
	tb.Cleanup(func() {
		for _, q := range stmts {
			if _, err := db.ExecContext(context.Background(), q); err != nil {
				tb.Errorf("dropping test table %s: %v", table, err)
			}
		}
	})
}

// discardLogger keeps expected store failures out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// deleteExpiredSQL is DeleteExpired's statement on each dialect.
var deleteExpiredSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `DELETE FROM "tokenauth_tokens" WHERE expires_at <= $1`,
	sqlstore.MySQL:    "DELETE FROM `tokenauth_tokens` WHERE expires_at <= ?",
	sqlstore.SQLite:   `DELETE FROM "tokenauth_tokens" WHERE expires_at <= ?`,
}

// The revocation log's prune: the newest row older than its argument, the
// oldest younger one and the newest row, read without locks; then a DELETE
// of the rows up to the first, before the second, and never the newest,
// which keeps MySQL's AUTO_INCREMENT from going back.
var (
	pruneBoundsSQL = map[sqlstore.Dialect]string{
		sqlstore.MySQL: "SELECT (SELECT MAX(seq) FROM `tokenauth_tokens_revocations` WHERE created_at < ?)," +
			" (SELECT MIN(seq) FROM `tokenauth_tokens_revocations` WHERE created_at >= ?)," +
			" (SELECT MAX(seq) FROM `tokenauth_tokens_revocations`)",
		sqlstore.SQLite: `SELECT (SELECT MAX(seq) FROM "tokenauth_tokens_revocations" WHERE created_at < ?),` +
			` (SELECT MIN(seq) FROM "tokenauth_tokens_revocations" WHERE created_at >= ?),` +
			` (SELECT MAX(seq) FROM "tokenauth_tokens_revocations")`,
	}
	pruneSQL = map[sqlstore.Dialect]string{
		sqlstore.MySQL:  "DELETE FROM `tokenauth_tokens_revocations` WHERE seq <= ?",
		sqlstore.SQLite: `DELETE FROM "tokenauth_tokens_revocations" WHERE seq <= ?`,
	}
)

// pruneBounds is the prune's look-up finding old (the newest row older
// than an hour), young (the oldest row younger) and newest; nil is none.
func pruneBounds(mock sqlmock.Sqlmock, d sqlstore.Dialect, old, young, newest any) *sqlmock.ExpectedQuery {
	return mock.ExpectQuery(pruneBoundsSQL[d]).WithArgs(anHourAgo(d), anHourAgo(d)).
		WillReturnRows(sqlmock.NewRows([]string{"old", "young", "newest"}).AddRow(old, young, newest))
}

// expectPrune expects the prune's look-up and its DELETE up to deleteTo,
// unless deleteTo is 0.
func expectPrune(mock sqlmock.Sqlmock, d sqlstore.Dialect, old, young, newest any, deleteTo int64) {
	pruneBounds(mock, d, old, young, newest)
	if deleteTo > 0 {
		mock.ExpectExec(pruneSQL[d]).WithArgs(deleteTo).WillReturnResult(sqlmock.NewResult(0, deleteTo))
	}
}

// at is the argument a Store of dialect d sends for t.
func at(d sqlstore.Dialect, t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d == sqlstore.SQLite {
		return t.UnixMicro()
	}
	return t
}

// anHourAgo matches the argument of the revocation log's prune: an hour
// before now, give or take a minute.
func anHourAgo(d sqlstore.Dialect) sqlmock.Argument { return nearTime{d, time.Hour} }

type nearTime struct {
	d   sqlstore.Dialect
	ago time.Duration
}

// Match accepts Unix microseconds on SQLite and a time.Time elsewhere,
// within a minute of n.ago before now.
func (n nearTime) Match(v driver.Value) bool {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case int64:
		t = time.UnixMicro(v)
	}
	_, micros := v.(int64)
	want := time.Now().Add(-n.ago)
	return micros == (n.d == sqlstore.SQLite) && t.After(want.Add(-time.Minute)) && t.Before(want.Add(time.Minute))
}
