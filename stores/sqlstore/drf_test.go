package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// The ledger's statements, on PostgreSQL.
const (
	recordImportPG   = `INSERT INTO "tokenauth_tokens_imports" (digest, imported_at) VALUES ($1, $2)`
	unrecordImportPG = `DELETE FROM "tokenauth_tokens_imports" WHERE digest = $1`
)

// The source query: keys joined to their users, or alone.
func TestImportQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sqlstore.ImportOptions
		want string
	}{
		{"DRF and Django's users", sqlstore.ImportOptions{},
			"SELECT t.key, t.user_id, t.created, u.is_active FROM authtoken_token AS t LEFT JOIN auth_user AS u ON u.id = t.user_id"},
		{"a custom user model", sqlstore.ImportOptions{UsersTable: "accounts.member", UsersIDColumn: "member_id", ActiveColumn: "enabled"},
			"SELECT t.key, t.user_id, t.created, u.enabled FROM authtoken_token AS t LEFT JOIN accounts.member AS u ON u.member_id = t.user_id"},
		{"inactive users included", sqlstore.ImportOptions{IncludeInactive: true, CreatedColumn: "-"},
			"SELECT t.key, t.user_id, NULL, 1 = 1 FROM authtoken_token AS t"},
		{"no users table", sqlstore.ImportOptions{UsersTable: "-", Table: "api_token", KeyColumn: "token", UserColumn: "owner_id"},
			"SELECT t.token, t.owner_id, t.created, 1 = 1 FROM api_token AS t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
			require.NoError(t, err)
			defer src.Close()
			s, _ := newMock(t, sqlstore.Postgres)
			a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true})
			require.NoError(t, err)
			mock.ExpectQuery(tc.want).WillReturnRows(sqlmock.NewRows([]string{"key", "user_id", "created", "active"}))
			res, err := s.Import(context.Background(), src, a, tc.opts)
			require.NoError(t, err)
			assert.Zero(t, res)
			assert.NoError(t, mock.ExpectationsWereMet())
		})
	}
	t.Run("identifiers are checked", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.Postgres)
		a, err := tokenauth.New(s, tokenauth.Options{})
		require.NoError(t, err)
		src, _, err := sqlmock.New()
		require.NoError(t, err)
		defer src.Close()
		for _, opts := range []sqlstore.ImportOptions{
			{UsersTable: "auth_user; DROP TABLE x"}, {ActiveColumn: "is_active OR 1"}, {UsersIDColumn: "-"}, {ActiveColumn: "-"},
		} {
			_, err := s.Import(context.Background(), src, a, opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "%+v", opts)
		}
	})
}

// Each key is recorded in the ledger before its token is stored; keys
// found there, keys of inactive users, and keys the Authenticator refuses
// are not stored, and a refused key leaves the ledger again.
func TestImportLedger(t *testing.T) {
	ctx := context.Background()
	const query = "SELECT t.key, t.user_id, t.created, u.is_active FROM authtoken_token AS t LEFT JOIN auth_user AS u ON u.id = t.user_id"
	newKey := func() string {
		var b [20]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	fresh, again, old, inactive, missing, revoked := newKey(), newKey(), newKey(), newKey(), newKey(), newKey()
	created := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

	src, srcMock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	defer src.Close()
	srcMock.ExpectQuery(query).WillReturnRows(sqlmock.NewRows([]string{"key", "user_id", "created", "is_active"}).
		AddRow(fresh, 1, created, true).
		AddRow(again, 2, created, true).
		AddRow(old, 3, created, true).
		AddRow(inactive, 4, created, false).
		AddRow(missing, 5, created, nil).
		AddRow("not-a-key", 6, created, true).
		AddRow(revoked, 7, created, int64(1)))

	s, mock := newMock(t, sqlstore.Postgres)
	a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true})
	require.NoError(t, err)
	record := func(key string) *sqlmock.ExpectedExec {
		return mock.ExpectExec(recordImportPG).WithArgs(tokenauth.SHA256.Digest(key), sqlmock.AnyArg())
	}
	createToken := func(key, user string) *sqlmock.ExpectedExec {
		return mock.ExpectExec(insertSQL[sqlstore.Postgres]).
			WithArgs(noPolicy(sqlmock.AnyArg(), user, "drf", "[]", tokenauth.SHA256.Digest(key), created, nil, nil, nil)...)
	}
	// fresh: recorded, stored.
	record(fresh).WillReturnResult(sqlmock.NewResult(0, 1))
	createToken(fresh, "1").WillReturnResult(sqlmock.NewResult(0, 1))
	expectNoCutoff(mock, sqlstore.Postgres, "1", created)
	// again: in the ledger already.
	record(again).WillReturnError(&sqlStateError{"23505"})
	// old: stored before the ledger existed.
	record(old).WillReturnResult(sqlmock.NewResult(0, 1))
	createToken(old, "3").WillReturnError(&sqlStateError{"23505"})
	// not-a-key: recorded, refused, unrecorded.
	record("not-a-key").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectExec(unrecordImportPG).WithArgs(tokenauth.SHA256.Digest("not-a-key")).WillReturnResult(sqlmock.NewResult(0, 1))
	// revoked: its user's cut-off is later; it stays in the ledger.
	record(revoked).WillReturnResult(sqlmock.NewResult(0, 1))
	createToken(revoked, "7").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectQuery(cutoffSQL[sqlstore.Postgres]).WillReturnRows(sqlmock.NewRows([]string{"1"}).AddRow(1))
	mock.ExpectExec(deleteByIDSQL[sqlstore.Postgres]).WillReturnResult(sqlmock.NewResult(0, 1))

	res, err := s.Import(ctx, src, a, sqlstore.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Imported: 1, Skipped: 2, Inactive: 2, Revoked: 1, Invalid: 1}, res)
	assert.NoError(t, srcMock.ExpectationsWereMet())
}

// A store that fails stops the import, and the key leaves the ledger, so
// that the next run imports it.
func TestImportFailure(t *testing.T) {
	ctx := context.Background()
	const query = "SELECT t.key, t.user_id, NULL, 1 = 1 FROM authtoken_token AS t"
	key := hex.EncodeToString(make([]byte, 20))
	src, srcMock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	defer src.Close()
	opts := sqlstore.ImportOptions{CreatedColumn: "-", UsersTable: "-"}
	rows := func() *sqlmock.Rows {
		return sqlmock.NewRows([]string{"key", "user_id", "created", "active"}).AddRow(key, "u", nil, true)
	}

	s, mock := newMock(t, sqlstore.Postgres)
	a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true, Logger: discardLogger()})
	require.NoError(t, err)
	srcMock.ExpectQuery(query).WillReturnRows(rows())
	mock.ExpectExec(recordImportPG).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectExec(insertSQL[sqlstore.Postgres]).WillReturnError(errDown)
	mock.ExpectExec(unrecordImportPG).WithArgs(tokenauth.SHA256.Digest(key)).WillReturnResult(sqlmock.NewResult(0, 1))
	_, err = s.Import(ctx, src, a, opts)
	checkErr(t, err, tokenauth.ErrUnavailable)
	assert.NotContains(t, err.Error(), key, "keys never reach errors")

	srcMock.ExpectQuery(query).WillReturnRows(rows())
	mock.ExpectExec(recordImportPG).WillReturnError(errDown)
	_, err = s.Import(ctx, src, a, opts)
	checkErr(t, err, errDown)
	assert.Contains(t, err.Error(), "ledger")

	srcMock.ExpectQuery(query).WillReturnRows(rows())
	mock.ExpectExec(recordImportPG).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectExec(insertSQL[sqlstore.Postgres]).WillReturnError(errDown)
	mock.ExpectExec(unrecordImportPG).WillReturnError(errDown)
	_, err = s.Import(ctx, src, a, opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "removing the key from the ledger")
	assert.NoError(t, srcMock.ExpectationsWereMet())
}
