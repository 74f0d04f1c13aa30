package sqlstore_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// raiseCutoffSQL is DeleteUser's first statement: an upsert that keeps the
// later cut-off.
var raiseCutoffSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `INSERT INTO "tokenauth_tokens_cutoffs" (user_id, not_before) VALUES ($1, $2)` +
		` ON CONFLICT (user_id) DO UPDATE SET not_before = GREATEST("tokenauth_tokens_cutoffs".not_before, EXCLUDED.not_before)`,
	sqlstore.MySQL: "INSERT INTO `tokenauth_tokens_cutoffs` (user_id, not_before) VALUES (?, CAST(? AS DATETIME(6)))" +
		" ON DUPLICATE KEY UPDATE not_before = GREATEST(not_before, VALUES(not_before))",
	sqlstore.SQLite: `INSERT INTO "tokenauth_tokens_cutoffs" (user_id, not_before) VALUES (?, ?)` +
		` ON CONFLICT (user_id) DO UPDATE SET not_before = MAX(not_before, excluded.not_before)`,
}

// deleteUserSQL is DeleteUser's second statement, without and with two
// tokens kept.
var deleteUserSQL = map[sqlstore.Dialect][2]string{
	sqlstore.Postgres: {`DELETE FROM "tokenauth_tokens" WHERE user_id = $1`,
		`DELETE FROM "tokenauth_tokens" WHERE user_id = $1 AND id NOT IN ($2, $3)`},
	sqlstore.MySQL: {"DELETE FROM `tokenauth_tokens` WHERE user_id = ?",
		"DELETE FROM `tokenauth_tokens` WHERE user_id = ? AND id NOT IN (?, ?)"},
	sqlstore.SQLite: {`DELETE FROM "tokenauth_tokens" WHERE user_id = ?`,
		`DELETE FROM "tokenauth_tokens" WHERE user_id = ? AND id NOT IN (?, ?)`},
}

var deleteByIDSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `DELETE FROM "tokenauth_tokens" WHERE id = $1`,
	sqlstore.MySQL:    "DELETE FROM `tokenauth_tokens` WHERE id = ?",
	sqlstore.SQLite:   `DELETE FROM "tokenauth_tokens" WHERE id = ?`,
}

var dialects = []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite}

// expectDelete expects DeleteUser's DELETE: on PostgreSQL alone in a
// transaction (REPEATABLE READ).
func expectDelete(mock sqlmock.Sqlmock, d sqlstore.Dialect, query string, args ...driver.Value) *sqlmock.ExpectedExec {
	if d == sqlstore.Postgres {
		mock.ExpectBegin()
	}
	return mock.ExpectExec(query).WithArgs(args...)
}

// DeleteUser writes the cut-off first, then deletes: the order Create's
// check relies on.
func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			s, mock := newMock(t, d)
			mock.ExpectExec(raiseCutoffSQL[d]).WithArgs("user-1", at(d, t0)).WillReturnResult(sqlmock.NewResult(0, 1))
			expectDelete(mock, d, deleteUserSQL[d][0], "user-1").WillReturnResult(sqlmock.NewResult(0, 3))
			if d == sqlstore.Postgres {
				mock.ExpectCommit()
			}
			n, err := s.DeleteUser(ctx, "user-1", t0.Add(999).In(time.Local))
			require.NoError(t, err)
			assert.Equal(t, 3, n)

			// Kept IDs; those no token can have are left out.
			mock.ExpectExec(raiseCutoffSQL[d]).WithArgs("user-1", at(d, t0)).WillReturnResult(sqlmock.NewResult(0, 2))
			expectDelete(mock, d, deleteUserSQL[d][1], "user-1", "keep-1", "keep-2").WillReturnResult(sqlmock.NewResult(0, 1))
			if d == sqlstore.Postgres {
				mock.ExpectCommit()
			}
			n, err = s.DeleteUser(ctx, "user-1", t0, "keep-1", "", "bad\xff", "keep-2")
			require.NoError(t, err)
			assert.Equal(t, 1, n)
		})
	}
	t.Run("postgres: a serialization failure is tried again", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectExec(raiseCutoffSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 1))
		expectDelete(mock, sqlstore.Postgres, deleteUserSQL[sqlstore.Postgres][0], "user-1").WillReturnError(&sqlStateError{"40001"})
		mock.ExpectRollback()
		expectDelete(mock, sqlstore.Postgres, deleteUserSQL[sqlstore.Postgres][0], "user-1").WillReturnResult(sqlmock.NewResult(0, 2))
		mock.ExpectCommit().WillReturnError(errors.New("ERROR: could not serialize access (SQLSTATE 40001)"))
		expectDelete(mock, sqlstore.Postgres, deleteUserSQL[sqlstore.Postgres][0], "user-1").WillReturnResult(sqlmock.NewResult(0, 2))
		mock.ExpectCommit()
		n, err := s.DeleteUser(ctx, "user-1", t0)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})
	t.Run("mysql: a deadlock is tried again", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		deadlock := errors.New("Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction")
		mock.ExpectExec(raiseCutoffSQL[sqlstore.MySQL]).WillReturnError(deadlock)
		mock.ExpectExec(raiseCutoffSQL[sqlstore.MySQL]).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectExec(deleteUserSQL[sqlstore.MySQL][0]).WillReturnError(deadlock)
		mock.ExpectExec(deleteUserSQL[sqlstore.MySQL][0]).WillReturnResult(sqlmock.NewResult(0, 4))
		n, err := s.DeleteUser(ctx, "user-1", t0)
		require.NoError(t, err)
		assert.Equal(t, 4, n)
	})
	t.Run("postgres: other failures are not tried again", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectExec(raiseCutoffSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 1))
		shutdown := &sqlStateError{"57P01"} // admin_shutdown
		expectDelete(mock, sqlstore.Postgres, deleteUserSQL[sqlstore.Postgres][0], "user-1").WillReturnError(shutdown)
		mock.ExpectRollback()
		_, err := s.DeleteUser(ctx, "user-1", t0)
		checkErr(t, err, shutdown)
	})
	t.Run("postgres: retries are bounded", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectExec(raiseCutoffSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 1))
		for i := range 20 {
			code := []string{"40001", "40P01"}[i%2] // serialization failure, deadlock
			expectDelete(mock, sqlstore.Postgres, deleteUserSQL[sqlstore.Postgres][0], "user-1").WillReturnError(&sqlStateError{code})
			mock.ExpectRollback()
		}
		_, err := s.DeleteUser(ctx, "user-1", t0)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "sqlstore: delete user: ")
	})
	t.Run("a zero time leaves the cut-off alone", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(deleteUserSQL[sqlstore.MySQL][0]).WithArgs("user-1").WillReturnResult(sqlmock.NewResult(0, 2))
		n, err := s.DeleteUser(ctx, "user-1", time.Time{})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})
	t.Run("a user ID no token can have sends nothing", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.Postgres)
		for _, user := range []string{"bad\xff", "nul\x00", string(make([]byte, 256))} {
			n, err := s.DeleteUser(ctx, user, t0)
			require.NoError(t, err)
			assert.Zero(t, n)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.DeleteUser(cctx, "bad\xff", t0)
		checkErr(t, err, context.Canceled)
	})
	t.Run("errors", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec(raiseCutoffSQL[sqlstore.SQLite]).WillReturnError(errDown)
		_, err := s.DeleteUser(ctx, "u", t0)
		checkErr(t, err, errDown)
		assert.Contains(t, err.Error(), "sqlstore: delete user: raising the cut-off: ")

		mock.ExpectExec(raiseCutoffSQL[sqlstore.SQLite]).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectExec(deleteUserSQL[sqlstore.SQLite][0]).WillReturnError(errDown)
		_, err = s.DeleteUser(ctx, "u", t0)
		checkErr(t, err, errDown)

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.DeleteUser(cctx, "u", t0)
		checkErr(t, err, context.Canceled)
	})
}

// Create inserts, then reads the cut-off; a token created before it is
// deleted again, and so is one whose cut-off could not be read.
func TestCreateChecksTheCutoff(t *testing.T) {
	ctx := context.Background()
	tok := func() *tokenauth.Token {
		return &tokenauth.Token{ID: "id-1", UserID: "user-1", CreatedAt: t0, Digest: digest}
	}
	insertArgs := func(d sqlstore.Dialect) []driver.Value {
		return noPolicy("id-1", "user-1", "", "[]", digest, at(d, t0), nil, nil, nil)
	}
	for _, d := range dialects {
		t.Run(d.String()+": refused", func(t *testing.T) {
			s, mock := newMock(t, d)
			mock.ExpectExec(insertSQL[d]).WithArgs(insertArgs(d)...).WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectQuery(cutoffSQL[d]).WithArgs("user-1", at(d, t0)).WillReturnRows(sqlmock.NewRows([]string{"1"}).AddRow(1))
			mock.ExpectExec(deleteByIDSQL[d]).WithArgs("id-1").WillReturnResult(sqlmock.NewResult(0, 1))
			err := s.Create(ctx, tok())
			assert.ErrorIs(t, err, tokenauth.ErrRevoked)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		})
	}
	t.Run("the look-up fails: the token goes, the error stays", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(insertSQL[sqlstore.MySQL]).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectQuery(cutoffSQL[sqlstore.MySQL]).WillReturnError(errDown)
		mock.ExpectExec(deleteByIDSQL[sqlstore.MySQL]).WithArgs("id-1").WillReturnResult(sqlmock.NewResult(0, 1))
		err := s.Create(ctx, tok())
		checkErr(t, err, errDown)
		assert.NotErrorIs(t, err, tokenauth.ErrRevoked)
		assert.Contains(t, err.Error(), "sqlstore: create: reading the user's cut-off: ")
	})
	t.Run("mysql: a deadlocked undo is tried again", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(insertSQL[sqlstore.MySQL]).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectQuery(cutoffSQL[sqlstore.MySQL]).WillReturnRows(sqlmock.NewRows([]string{"1"}).AddRow(1))
		mock.ExpectExec(deleteByIDSQL[sqlstore.MySQL]).WithArgs("id-1").WillReturnError(errors.New("Error 1213 (40001): Deadlock found"))
		mock.ExpectExec(deleteByIDSQL[sqlstore.MySQL]).WithArgs("id-1").WillReturnResult(sqlmock.NewResult(0, 1))
		assert.ErrorIs(t, s.Create(ctx, tok()), tokenauth.ErrRevoked)
	})
	t.Run("the undo fails too", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectExec(insertSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectQuery(cutoffSQL[sqlstore.Postgres]).WillReturnRows(sqlmock.NewRows([]string{"1"}).AddRow(1))
		mock.ExpectExec(deleteByIDSQL[sqlstore.Postgres]).WithArgs("id-1").WillReturnError(errDown)
		err := s.Create(ctx, tok())
		checkErr(t, err, errDown)
		assert.NotErrorIs(t, err, tokenauth.ErrRevoked, "a refused token still stored is an outage, not a refusal")
	})
	t.Run("the undo runs after ctx has ended", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		cctx, cancel := context.WithCancel(ctx)
		mock.ExpectExec(insertSQL[sqlstore.SQLite]).WillReturnResult(sqlmock.NewResult(0, 1))
		// The look-up would take 10 s; ctx ends 200 ms in, long after the
		// INSERT (10 ms proved too short on a loaded machine, where the
		// INSERT itself outlasted it and the look-up never started).
		mock.ExpectQuery(cutoffSQL[sqlstore.SQLite]).WillDelayFor(10 * time.Second).
			WillReturnRows(sqlmock.NewRows([]string{"1"}))
		mock.ExpectExec(deleteByIDSQL[sqlstore.SQLite]).WithArgs("id-1").WillReturnResult(sqlmock.NewResult(0, 1))
		time.AfterFunc(200*time.Millisecond, cancel)
		err := s.Create(cctx, tok())
		require.Error(t, err, "the look-up was canceled")
		assert.NotErrorIs(t, err, tokenauth.ErrRevoked)
		// newMock's clean-up checks that the DELETE was sent.
	})
}
