package sqlstore_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// touchBatchSQL is Touch's statement for two uses: the SET clause over a
// list of values.
var touchBatchSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `UPDATE "tokenauth_tokens" AS t SET` +
		` last_used_at = COALESCE(GREATEST(t.last_used_at, v.lu), t.last_used_at, v.lu),` +
		` expires_at = CASE WHEN t.expires_at IS NOT NULL THEN COALESCE(GREATEST(t.expires_at,` +
		` CASE WHEN t.max_expires_at < v.ex THEN t.max_expires_at ELSE v.ex END), t.expires_at) END` +
		` FROM json_to_recordset(CAST($1 AS text)::json) AS v(id text, lu timestamptz, ex timestamptz)` +
		` WHERE t.id = v.id`,
	sqlstore.MySQL: "UPDATE `tokenauth_tokens` AS t JOIN (" +
		"SELECT ? AS id, CAST(? AS DATETIME(6)) AS lu, CAST(? AS DATETIME(6)) AS ex" +
		" UNION ALL SELECT ?, CAST(? AS DATETIME(6)), CAST(? AS DATETIME(6))" +
		") AS v ON t.id = v.id SET" +
		" t.last_used_at = COALESCE(GREATEST(t.last_used_at, v.lu), t.last_used_at, v.lu)," +
		" t.expires_at = CASE WHEN t.expires_at IS NOT NULL THEN COALESCE(GREATEST(t.expires_at," +
		" CASE WHEN t.max_expires_at < v.ex THEN t.max_expires_at ELSE v.ex END), t.expires_at) END",
	sqlstore.SQLite: `UPDATE "tokenauth_tokens" SET` +
		` last_used_at = COALESCE(MAX(last_used_at, v.column2), last_used_at, v.column2),` +
		` expires_at = CASE WHEN expires_at IS NOT NULL THEN COALESCE(MAX(expires_at,` +
		` CASE WHEN max_expires_at < v.column3 THEN max_expires_at ELSE v.column3 END), expires_at) END` +
		` FROM (VALUES (?, ?, ?), (?, ?, ?)) AS v WHERE "tokenauth_tokens".id = v.column1`,
}

func TestTouch(t *testing.T) {
	ctx := context.Background()
	// Four uses of two tokens, out of order, and two IDs no token can
	// have: one UPDATE of two rows, in ID order, with each token's latest
	// times (a zero time is none).
	uses := []tokenauth.TokenUse{
		{ID: "b", LastUsed: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)},
		{ID: "a", LastUsed: t0.Add(2 * time.Minute)},
		{ID: "b", LastUsed: t0, ExpiresAt: t0.Add(2*time.Hour + 999)},
		{ID: "", LastUsed: t0},
		{ID: "bad\xff", LastUsed: t0},
		{ID: "a", LastUsed: t0.Add(time.Minute)},
	}
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			s, mock := newMock(t, d)
			args := []driver.Value{"a", at(d, t0.Add(2*time.Minute)), nil, "b", at(d, t0.Add(time.Minute)), at(d, t0.Add(2*time.Hour))}
			if d == sqlstore.Postgres {
				args = []driver.Value{`[{"id":"a","lu":"2026-03-14T15:11:26.535897Z","ex":null},` +
					`{"id":"b","lu":"2026-03-14T15:10:26.535897Z","ex":"2026-03-14T17:09:26.535897Z"}]`}
			}
			mock.ExpectExec(touchBatchSQL[d]).WithArgs(args...).WillReturnResult(sqlmock.NewResult(0, 2))
			require.NoError(t, s.Touch(ctx, uses))
		})
	}
	t.Run("nothing to write sends nothing", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.Postgres)
		require.NoError(t, s.Touch(ctx, nil))
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: ""}, {ID: strings.Repeat("x", 65)}, {ID: "nul\x00"}}))
	})
	t.Run("tokens that are gone are no error", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec(touchBatchSQL[sqlstore.SQLite]).WillReturnResult(sqlmock.NewResult(0, 0))
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: "x", LastUsed: t0}, {ID: "y", LastUsed: t0}}))
	})
	t.Run("errors", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(touchBatchSQL[sqlstore.MySQL]).WillReturnError(errDown)
		err := s.Touch(ctx, []tokenauth.TokenUse{{ID: "x", LastUsed: t0}, {ID: "y", LastUsed: t0}})
		checkErr(t, err, errDown)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: touch: "), err.Error())

		lite, _ := newMock(t, sqlstore.SQLite)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		checkErr(t, lite.Touch(cctx, []tokenauth.TokenUse{{ID: "x", LastUsed: t0}}), context.Canceled)
	})
}

// Large batches go in statements of 500 uses; a failed statement stops
// the batch.
func TestTouchChunks(t *testing.T) {
	uses := make([]tokenauth.TokenUse, 1201)
	for i := range uses {
		uses[i] = tokenauth.TokenUse{ID: fmt.Sprintf("id-%04d", i), LastUsed: t0}
	}
	// The statement's rows, by counting its placeholders.
	var sizes []int
	matcher := sqlmock.QueryMatcherFunc(func(_, actual string) error {
		sizes = append(sizes, strings.Count(actual, "(?, ?, ?)"))
		return nil
	})
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(matcher))
	require.NoError(t, err)
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.Options{})
	require.NoError(t, err)

	for _, n := range []int{500, 500, 201} {
		mock.ExpectExec("").WithArgs(anyArgs(3 * n)...).WillReturnResult(sqlmock.NewResult(0, int64(n)))
	}
	require.NoError(t, s.Touch(context.Background(), uses))
	assert.Equal(t, []int{500, 500, 201}, sizes)

	sizes = nil
	mock.ExpectExec("").WithArgs(anyArgs(1500)...).WillReturnError(errDown)
	checkErr(t, s.Touch(context.Background(), uses), errDown)
	assert.Equal(t, []int{500}, sizes, "no statement after a failed one")
	assert.NoError(t, mock.ExpectationsWereMet())
}

func anyArgs(n int) []driver.Value {
	args := make([]driver.Value, n)
	for i := range args {
		args[i] = sqlmock.AnyArg()
	}
	return args
}
