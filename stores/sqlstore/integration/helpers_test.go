package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// errDown is a driver's error during an outage.
var errDown = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")

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

// dropTable drops table, with its triggers, their function, and the
// tables named after it (revocation log, cut-offs, import ledger), at the
// end of the test.
func dropTable(tb testing.TB, db *sql.DB, d sqlstore.Dialect, table string) {
	tb.Helper()
	q := `"`
	if d == sqlstore.MySQL {
		q = "`"
	}
	var stmts []string
	for _, name := range []string{table, table + "_revocations", table + "_cutoffs", table + "_imports"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+q+name+q)
	}
	if d == sqlstore.Postgres {
		stmts = append(stmts, `DROP FUNCTION IF EXISTS "`+table+`_notify"()`)
	}
	tb.Cleanup(func() {
		for _, stmt := range stmts {
			if _, err := db.ExecContext(context.Background(), stmt); err != nil {
				tb.Errorf("dropping test table %s: %v", table, err)
			}
		}
	})
}

// discardLogger keeps expected store failures out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// at is the argument a Store of dialect d sends for t.
func at(d sqlstore.Dialect, t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d == sqlstore.SQLite {
		return t.UnixMicro()
	}
	return t
}
