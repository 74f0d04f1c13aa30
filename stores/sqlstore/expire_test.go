package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// expireSQL is Expire's statement: each column becomes the argument where
// it is NULL (never) or later.
var expireSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `UPDATE "tokenauth_tokens" SET` +
		` expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $2 ELSE expires_at END,` +
		` max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > $3 THEN $4 ELSE max_expires_at END` +
		` WHERE id = $5`,
	sqlstore.MySQL: "UPDATE `tokenauth_tokens` SET" +
		" expires_at = CASE WHEN expires_at IS NULL OR expires_at > CAST(? AS DATETIME(6)) THEN CAST(? AS DATETIME(6)) ELSE expires_at END," +
		" max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > CAST(? AS DATETIME(6)) THEN CAST(? AS DATETIME(6)) ELSE max_expires_at END" +
		" WHERE id = ?",
	sqlstore.SQLite: `UPDATE "tokenauth_tokens" SET` +
		` expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END,` +
		` max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > ? THEN ? ELSE max_expires_at END` +
		` WHERE id = ?`,
}

func TestExpire(t *testing.T) {
	const existsMySQL = "SELECT 1 FROM `tokenauth_tokens` WHERE id = ?"
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		d       sqlstore.Dialect
		result  execResult
		exists  func(*sqlmock.ExpectedQuery) // MySQL's lookup after an UPDATE that changed nothing
		wantErr error
	}{
		{name: "postgres", d: sqlstore.Postgres, result: execResult{rows: 1}},
		{name: "mysql", d: sqlstore.MySQL, result: execResult{rows: 1}},
		{name: "sqlite", d: sqlstore.SQLite, result: execResult{rows: 1}},
		{name: "postgres: gone", d: sqlstore.Postgres, result: execResult{rows: 0}, wantErr: tokenauth.ErrNotFound},
		{name: "sqlite: gone", d: sqlstore.SQLite, result: execResult{rows: 0}, wantErr: tokenauth.ErrNotFound},
		{name: "mysql: already earlier", d: sqlstore.MySQL, result: execResult{rows: 0},
			exists: func(e *sqlmock.ExpectedQuery) { e.WillReturnRows(sqlmock.NewRows([]string{"1"}).AddRow(1)) }},
		{name: "mysql: gone", d: sqlstore.MySQL, result: execResult{rows: 0},
			exists: func(e *sqlmock.ExpectedQuery) { e.WillReturnRows(sqlmock.NewRows([]string{"1"})) }, wantErr: tokenauth.ErrNotFound},
		{name: "mysql: lookup fails", d: sqlstore.MySQL, result: execResult{rows: 0},
			exists: func(e *sqlmock.ExpectedQuery) { e.WillReturnError(errDown) }, wantErr: errDown},
		{name: "driver error", d: sqlstore.Postgres, result: execResult{err: errDown}, wantErr: errDown},
		{name: "rows affected error", d: sqlstore.SQLite, result: execResult{rowsErr: errDown}, wantErr: errDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, tc.d)
			v := at(tc.d, t0)
			tc.result.expect(mock.ExpectExec(expireSQL[tc.d]).WithArgs(v, v, v, v, "id-1"))
			if tc.exists != nil {
				tc.exists(mock.ExpectQuery(existsMySQL).WithArgs("id-1"))
			}
			checkErr(t, s.Expire(ctx, "id-1", t0.Add(999)), tc.wantErr)
		})
	}
	t.Run("sqlite: a canceled context while waiting to write", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.SQLite)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		checkErr(t, s.Expire(cctx, "id-1", t0), context.Canceled)
	})
}

// The zero time would end the token at once: Expire refuses it without a
// statement, as memstore and redisstore do.
func TestExpireZeroTime(t *testing.T) {
	s, _ := newMock(t, sqlstore.Postgres)
	err := s.Expire(context.Background(), "id-1", time.Time{})
	assert.ErrorContains(t, err, "non-zero time")
	assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
}
