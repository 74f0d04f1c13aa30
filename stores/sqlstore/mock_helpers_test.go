package sqlstore_test

import (
	"context"
	"database/sql/driver"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

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
		sqlstore.Postgres: `SELECT (SELECT MAX(seq) FROM "tokenauth_tokens_revocations" WHERE created_at < $1),` +
			` (SELECT MIN(seq) FROM "tokenauth_tokens_revocations" WHERE created_at >= $2),` +
			` (SELECT MAX(seq) FROM "tokenauth_tokens_revocations")`,
		sqlstore.MySQL: "SELECT (SELECT MAX(seq) FROM `tokenauth_tokens_revocations` WHERE created_at < ?)," +
			" (SELECT MIN(seq) FROM `tokenauth_tokens_revocations` WHERE created_at >= ?)," +
			" (SELECT MAX(seq) FROM `tokenauth_tokens_revocations`)",
		sqlstore.SQLite: `SELECT (SELECT MAX(seq) FROM "tokenauth_tokens_revocations" WHERE created_at < ?),` +
			` (SELECT MIN(seq) FROM "tokenauth_tokens_revocations" WHERE created_at >= ?),` +
			` (SELECT MAX(seq) FROM "tokenauth_tokens_revocations")`,
	}
	pruneSQL = map[sqlstore.Dialect]string{
		sqlstore.Postgres: `DELETE FROM "tokenauth_tokens_revocations" WHERE seq <= $1`,
		sqlstore.MySQL:    "DELETE FROM `tokenauth_tokens_revocations` WHERE seq <= ?",
		sqlstore.SQLite:   `DELETE FROM "tokenauth_tokens_revocations" WHERE seq <= ?`,
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

// issuedElsewhere returns a well-formed key that no store of the test
// holds.
func issuedElsewhere(t *testing.T) string {
	t.Helper()
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	require.NoError(t, err)
	key, _, err := a.Issue(context.Background(), "elsewhere", tokenauth.IssueOptions{})
	require.NoError(t, err)
	return key
}
