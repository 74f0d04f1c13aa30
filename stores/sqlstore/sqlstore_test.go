package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// A cache in front of the store hears its revocations.
var _ cachestore.Watcher = (*sqlstore.Store)(nil)

// Unit tests: the exact statements and arguments each method sends, and
// how results and driver errors map to the Store contract. Integration
// tests run the same code against real servers.

const cols = "id, user_id, name, scopes, digest, created_at, expires_at, last_used_at, max_expires_at, " +
	"personal, not_before, allowed_ips, denied_ips, rate_limit, rate_window_ns, created_from, user_agent"

// noPolicy completes the values of a row, or of Create's arguments, with
// those of a token without policy: personal false, the rest NULL.
func noPolicy(record ...driver.Value) []driver.Value {
	return append(record, false, nil, nil, nil, nil, nil, nil, nil)
}

var (
	t0      = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	digest  = append([]byte{0}, bytes.Repeat([]byte{0xab}, 31)...)
	errDown = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
)

// newMock returns a Store of dialect d over a sqlmock database that
// expects exactly the statements the test declares, and checks at the end
// that all of them were sent.
func newMock(t *testing.T, d sqlstore.Dialect) (*sqlstore.Store, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, mock.ExpectationsWereMet())
		db.Close()
	})
	s, err := sqlstore.New(db, d, sqlstore.Options{})
	require.NoError(t, err)
	return s, mock
}

// insertSQL is Create's statement on each dialect.
var insertSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `INSERT INTO "tokenauth_tokens" (` + cols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
	sqlstore.MySQL:    "INSERT INTO `tokenauth_tokens` (" + cols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	sqlstore.SQLite:   `INSERT INTO "tokenauth_tokens" (` + cols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}

// cutoffSQL is Create's look-up of the user's cut-off, after its INSERT.
var cutoffSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `SELECT 1 FROM "tokenauth_tokens_cutoffs" WHERE user_id = $1 AND not_before > $2`,
	sqlstore.MySQL:    "SELECT 1 FROM `tokenauth_tokens_cutoffs` WHERE user_id = ? AND not_before > CAST(? AS DATETIME(6))",
	sqlstore.SQLite:   `SELECT 1 FROM "tokenauth_tokens_cutoffs" WHERE user_id = ? AND not_before > ?`,
}

// expectNoCutoff expects Create's look-up of user's cut-off for a token
// created at created, which finds none later.
func expectNoCutoff(mock sqlmock.Sqlmock, d sqlstore.Dialect, user string, created time.Time) *sqlmock.ExpectedQuery {
	return mock.ExpectQuery(cutoffSQL[d]).WithArgs(user, at(d, created)).WillReturnRows(sqlmock.NewRows([]string{"1"}))
}

func tokenRow() *sqlmock.Rows {
	return sqlmock.NewRows(strings.Split(cols, ", "))
}

// Driver errors of the shapes the real drivers return.
type (
	sqlStateError struct{ code string } // pgx, lib/pq
	codeError     struct{ code int }    // modernc.org/sqlite
)

func (e *sqlStateError) Error() string    { return "ERROR: constraint violated (SQLSTATE " + e.code + ")" }
func (e *sqlStateError) SQLState() string { return e.code }
func (e *codeError) Error() string        { return fmt.Sprintf("constraint failed (%d)", e.code) }
func (e *codeError) Code() int            { return e.code }

func TestNewRejectsInvalidOptions(t *testing.T) {
	db, _, err := sqlmock.New()
	require.NoError(t, err)
	defer db.Close()
	for _, tc := range []struct {
		name  string
		db    *sql.DB
		d     sqlstore.Dialect
		table string
	}{
		{"nil db", nil, sqlstore.Postgres, ""},
		{"zero dialect", db, 0, ""},
		{"unknown dialect", db, sqlstore.Dialect(9), ""},
		{"uppercase", db, sqlstore.Postgres, "Tokens"},
		{"leading digit", db, sqlstore.Postgres, "1tokens"},
		{"hyphen", db, sqlstore.MySQL, "my-tokens"},
		{"space", db, sqlstore.SQLite, "my tokens"},
		{"injection", db, sqlstore.SQLite, `t"; DROP TABLE users; --`},
		{"schema-qualified", db, sqlstore.Postgres, "auth.tokens"},
		{"too long", db, sqlstore.Postgres, strings.Repeat("t", 49)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlstore.New(tc.db, tc.d, sqlstore.Options{Table: tc.table})
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, s)
		})
	}
	for _, table := range []string{"", "tokens", "_t", "api_tokens_2", strings.Repeat("t", 48)} {
		s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.Options{Table: table})
		require.NoError(t, err, "table %q", table)
		if table == "" {
			table = sqlstore.DefaultTable
		}
		assert.Equal(t, table, s.Table())
		assert.Equal(t, sqlstore.SQLite, s.Dialect())
	}
}

func TestDialectString(t *testing.T) {
	for _, tc := range []struct {
		d    sqlstore.Dialect
		want string
	}{
		{sqlstore.Postgres, "postgres"}, {sqlstore.MySQL, "mysql"}, {sqlstore.MariaDB, "mysql"},
		{sqlstore.SQLite, "sqlite"}, {0, "Dialect(0)"},
	} {
		assert.Equal(t, tc.want, tc.d.String())
	}
}

func TestCreate(t *testing.T) {
	tok := &tokenauth.Token{
		ID: "id-1", UserID: "user-1", Name: "laptop", Scopes: []string{"read", `say "hi"`},
		CreatedAt: t0.In(time.FixedZone("CET", 3600)), ExpiresAt: t0.Add(time.Hour + 999),
		MaxExpiresAt: t0.Add(24*time.Hour + 999).In(time.FixedZone("CET", 3600)), Digest: digest,
	}
	t.Run("postgres", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectExec(insertSQL[sqlstore.Postgres]).
			WithArgs(noPolicy("id-1", "user-1", "laptop", `["read","say \"hi\""]`, digest, t0, t0.Add(time.Hour), nil, t0.Add(24*time.Hour))...).
			WillReturnResult(sqlmock.NewResult(0, 1))
		expectNoCutoff(mock, sqlstore.Postgres, "user-1", t0)
		require.NoError(t, s.Create(context.Background(), tok))
	})
	t.Run("mysql", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.MySQL)
		mock.ExpectExec(insertSQL[sqlstore.MySQL]).
			WithArgs(noPolicy("id-1", "user-1", "laptop", `["read","say \"hi\""]`, digest, t0, t0.Add(time.Hour), nil, t0.Add(24*time.Hour))...).
			WillReturnResult(sqlmock.NewResult(0, 1))
		expectNoCutoff(mock, sqlstore.MySQL, "user-1", t0)
		require.NoError(t, s.Create(context.Background(), tok))
	})
	t.Run("sqlite stores Unix microseconds and no scopes as []", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		bare := tok.Clone()
		bare.Scopes, bare.ExpiresAt, bare.LastUsedAt, bare.MaxExpiresAt = nil, time.Time{}, t0.Add(time.Minute), time.Time{}
		mock.ExpectExec(insertSQL[sqlstore.SQLite]).
			WithArgs(noPolicy("id-1", "user-1", "laptop", "[]", digest, t0.UnixMicro(), nil, t0.Add(time.Minute).UnixMicro(), nil)...).
			WillReturnResult(sqlmock.NewResult(1, 1))
		expectNoCutoff(mock, sqlstore.SQLite, "user-1", t0)
		require.NoError(t, s.Create(context.Background(), bare))
	})
}

func TestCreateMapsUniqueViolationsToErrExists(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      sqlstore.Dialect
		err    error
		exists bool
	}{
		{"postgres SQLState 23505", sqlstore.Postgres, &sqlStateError{"23505"}, true},
		{"postgres message", sqlstore.Postgres, errors.New(`ERROR: duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505)`), true},
		{"postgres wrapped", sqlstore.Postgres, fmt.Errorf("exec: %w", &sqlStateError{"23505"}), true},
		{"postgres other SQLState", sqlstore.Postgres, &sqlStateError{"23502"}, false},
		{"mysql 1062", sqlstore.MySQL, errors.New("Error 1062 (23000): Duplicate entry '\x00\xab\xab' for key 'digest_key'"), true},
		{"mysql other", sqlstore.MySQL, errors.New("Error 1406 (22001): Data too long for column 'name' at row 1"), false},
		{"sqlite unique code", sqlstore.SQLite, &codeError{2067}, true},
		{"sqlite primary key code", sqlstore.SQLite, &codeError{1555}, true},
		{"sqlite message", sqlstore.SQLite, errors.New("UNIQUE constraint failed: tokenauth_tokens.id"), true},
		{"sqlite busy", sqlstore.SQLite, &codeError{5}, false},
		{"outage", sqlstore.Postgres, errDown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, tc.d)
			mock.ExpectExec(insertSQL[tc.d]).WillReturnError(tc.err)
			err := s.Create(context.Background(), &tokenauth.Token{ID: "id", UserID: "u", CreatedAt: t0, Digest: digest})
			require.Error(t, err)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
			if tc.exists {
				assert.ErrorIs(t, err, tokenauth.ErrExists)
				assert.NotContains(t, err.Error(), "Duplicate", "the driver's text, which may quote the digest, is dropped")
			} else {
				assert.NotErrorIs(t, err, tokenauth.ErrExists)
				assert.ErrorIs(t, err, tc.err, "the driver's error stays reachable")
			}
		})
	}
}

func TestCreateRejectsRecordsTheSchemaCannotHold(t *testing.T) {
	valid := func() *tokenauth.Token {
		return &tokenauth.Token{ID: "id", UserID: "u", Name: "n", Scopes: []string{"s"}, CreatedAt: t0, Digest: digest}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*tokenauth.Token)
	}{
		{"empty ID", func(t *tokenauth.Token) { t.ID = "" }},
		{"long ID", func(t *tokenauth.Token) { t.ID = strings.Repeat("i", 65) }},
		{"long user ID", func(t *tokenauth.Token) { t.UserID = strings.Repeat("u", 256) }},
		{"long name", func(t *tokenauth.Token) { t.Name = strings.Repeat("é", 201) }},
		{"empty digest", func(t *tokenauth.Token) { t.Digest = nil }},
		{"long digest", func(t *tokenauth.Token) { t.Digest = make([]byte, 65) }},
		{"zero CreatedAt", func(t *tokenauth.Token) { t.CreatedAt = time.Time{} }},
		{"year 10000", func(t *tokenauth.Token) { t.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"negative year", func(t *tokenauth.Token) { t.LastUsedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"invalid UTF-8 name", func(t *tokenauth.Token) { t.Name = "\xff" }},
		{"NUL in user ID", func(t *tokenauth.Token) { t.UserID = "u\x00" }},
		{"invalid UTF-8 scope", func(t *tokenauth.Token) { t.Scopes = []string{"ok", "\xc3"} }},
		{"huge scopes", func(t *tokenauth.Token) { t.Scopes = []string{strings.Repeat("s", 70000)} }},
		{"NotBefore in year 10000", func(t *tokenauth.Token) { t.NotBefore = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"zero prefix", func(t *tokenauth.Token) { t.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}} }},
		{"prefix longer than its address", func(t *tokenauth.Token) {
			t.DeniedIPs = []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 33)}
		}},
		{"huge prefix list", func(t *tokenauth.Token) {
			t.AllowedIPs = slices.Repeat([]netip.Prefix{netip.MustParsePrefix("2001:db8:1234:5678::/64")}, 3000)
		}},
		{"long CreatedFrom", func(t *tokenauth.Token) { t.CreatedFrom = strings.Repeat("1", 65) }},
		{"long UserAgent", func(t *tokenauth.Token) { t.UserAgent = strings.Repeat("a", 257) }},
		{"invalid UTF-8 UserAgent", func(t *tokenauth.Token) { t.UserAgent = "Mozilla/5.0 \xe9" }},
		{"NUL in CreatedFrom", func(t *tokenauth.Token) { t.CreatedFrom = "10.0.0.1\x00" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newMock(t, sqlstore.Postgres) // no statement expected
			tok := valid()
			tc.mutate(tok)
			err := s.Create(context.Background(), tok)
			assert.ErrorIs(t, err, sqlstore.ErrInvalidRecord)
		})
	}
	t.Run("nil token", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.SQLite)
		assert.ErrorIs(t, s.Create(context.Background(), nil), sqlstore.ErrInvalidRecord)
	})
	t.Run("limits are inclusive", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		tok := valid()
		tok.ID, tok.UserID, tok.Name = strings.Repeat("i", 64), strings.Repeat("u", 255), strings.Repeat("é", 200)
		tok.Digest = make([]byte, 64)
		tok.CreatedFrom, tok.UserAgent = strings.Repeat("f", 64), strings.Repeat("é", 128)
		mock.ExpectExec(insertSQL[sqlstore.SQLite]).WillReturnResult(sqlmock.NewResult(1, 1))
		expectNoCutoff(mock, sqlstore.SQLite, tok.UserID, t0)
		assert.NoError(t, s.Create(context.Background(), tok))
	})
}

const (
	findPG     = `SELECT ` + cols + ` FROM "tokenauth_tokens" WHERE digest = $1`
	findSQLite = `SELECT ` + cols + ` FROM "tokenauth_tokens" WHERE digest = ?`
)

func TestFind(t *testing.T) {
	ctx := context.Background()
	t.Run("row", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		cet := time.FixedZone("CET", 3600)
		mock.ExpectQuery(findPG).WithArgs(digest).WillReturnRows(tokenRow().
			AddRow(noPolicy("id-1", "user-1", "laptop", `["read","write"]`, digest, t0.In(cet), t0.Add(time.Hour), nil, t0.Add(24*time.Hour).In(cet))...))
		got, err := s.Find(ctx, digest)
		require.NoError(t, err)
		assert.Equal(t, &tokenauth.Token{
			ID: "id-1", UserID: "user-1", Name: "laptop", Scopes: []string{"read", "write"},
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxExpiresAt: t0.Add(24 * time.Hour), Digest: digest,
		}, got)
		assert.Equal(t, time.UTC, got.CreatedAt.Location(), "times are returned in UTC")
	})
	t.Run("no rows is ErrNotFound", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(findPG).WithArgs(digest).WillReturnRows(tokenRow())
		_, err := s.Find(ctx, digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	})
	t.Run("a digest no token can have is ErrNotFound without a query", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.Postgres)
		for _, d := range [][]byte{nil, {}, make([]byte, 65)} {
			_, err := s.Find(ctx, d)
			assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		}
	})
	t.Run("canceled context is not ErrNotFound", func(t *testing.T) {
		s, _ := newMock(t, sqlstore.Postgres)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, d := range [][]byte{nil, digest} {
			_, err := s.Find(ctx, d)
			assert.ErrorIs(t, err, context.Canceled)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		}
	})
	t.Run("driver error is an outage", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(findPG).WithArgs(digest).WillReturnError(errDown)
		_, err := s.Find(ctx, digest)
		assert.ErrorIs(t, err, errDown)
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		assert.Equal(t, "sqlstore: find: "+errDown.Error(), err.Error())
	})
	t.Run("unreadable row is an outage", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(findPG).WithArgs(digest).WillReturnRows(tokenRow().
			AddRow(noPolicy("id-1", "user-1", "", `"not an array"`, digest, t0, nil, nil, nil)...))
		_, err := s.Find(ctx, digest)
		require.Error(t, err)
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		assert.NotContains(t, err.Error(), "not an array", "column values stay out of errors")
	})
}

// On SQLite, which has no statement cache, Find prepares its statement
// once, and again after a failure.
func TestFindPreparesOnSQLite(t *testing.T) {
	ctx := context.Background()
	s, mock := newMock(t, sqlstore.SQLite)
	mock.ExpectPrepare(findSQLite).WillReturnError(errDown)
	_, err := s.Find(ctx, digest)
	checkErr(t, err, errDown)

	prep := mock.ExpectPrepare(findSQLite)
	prep.ExpectQuery().WithArgs(digest).WillReturnRows(tokenRow())
	prep.ExpectQuery().WithArgs(digest).WillReturnRows(tokenRow().AddRow(noPolicy("id", "u", "", "[]", digest, t0, nil, nil, nil)...))
	_, err = s.Find(ctx, digest)
	checkErr(t, err, tokenauth.ErrNotFound)
	got, err := s.Find(ctx, digest)
	require.NoError(t, err)
	assert.Equal(t, "id", got.ID)
}

// Every dialect's and driver setting's time representation reads back as
// the same UTC instant.
func TestFindReadsEveryTimeRepresentation(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want time.Time
	}{
		{"time.Time in another zone", t0.In(time.FixedZone("X", -7*3600)), t0},
		{"Unix microseconds", t0.UnixMicro(), t0},
		{"MySQL text", []byte("2026-03-14 15:09:26.535897"), t0},
		{"MySQL text, whole seconds", []byte("2026-03-14 15:09:26"), t0.Truncate(time.Second)},
		{"MySQL zero date", []byte("0000-00-00 00:00:00"), time.Time{}},
		{"RFC 3339 with offset", "2026-03-14T16:09:26.535897+01:00", t0},
		{"modernc text", "2026-03-14 15:09:26.535897+00:00", t0},
		{"NULL", nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.MySQL)
			mock.ExpectQuery("SELECT " + cols + " FROM `tokenauth_tokens` WHERE digest = ?").WithArgs(digest).
				WillReturnRows(tokenRow().AddRow(noPolicy("id", "u", "", "[]", digest, t0, tc.v, nil, tc.v)...))
			got, err := s.Find(context.Background(), digest)
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(got.ExpiresAt), "got %v, want %v", got.ExpiresAt, tc.want)
			assert.True(t, tc.want.Equal(got.MaxExpiresAt), "got %v, want %v", got.MaxExpiresAt, tc.want)
			assert.Nil(t, got.Scopes)
		})
	}
	for _, v := range []any{"yesterday", 1.5, true} {
		t.Run(fmt.Sprintf("unreadable %T", v), func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			mock.ExpectPrepare(findSQLite).ExpectQuery().WithArgs(digest).
				WillReturnRows(tokenRow().AddRow(noPolicy("id", "u", "", "[]", digest, v, nil, nil, nil)...))
			_, err := s.Find(context.Background(), digest)
			require.Error(t, err)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		})
	}
}

func TestDelete(t *testing.T) {
	const q = `DELETE FROM "tokenauth_tokens" WHERE id = ?`
	for _, tc := range []struct {
		name    string
		result  execResult
		wantErr error
	}{
		{name: "deleted", result: execResult{rows: 1}},
		{name: "missing", result: execResult{rows: 0}, wantErr: tokenauth.ErrNotFound},
		{name: "driver error", result: execResult{err: errDown}, wantErr: errDown},
		{name: "rows affected error", result: execResult{rowsErr: errDown}, wantErr: errDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.SQLite)
			tc.result.expect(mock.ExpectExec(q).WithArgs("id-1"))
			err := s.Delete(context.Background(), "id-1")
			checkErr(t, err, tc.wantErr)
		})
	}
}

func TestDeleteExpired(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name               string
		old, young, newest any
		deleteTo           int64
	}{
		{"rows older than an hour", 5, 6, 9, 5},
		{"rows out of order: up to the oldest young row", 5, 3, 9, 2},
		{"all rows older than an hour: the newest stays", 9, nil, 9, 8},
		{"no row older than an hour", nil, 1, 9, 0},
		{"an empty log", nil, nil, nil, 0},
		{"only one row, old", 1, nil, 1, 0},
	} {
		t.Run("DeleteExpired, then the revocation log is pruned: "+tc.name, func(t *testing.T) {
			for _, d := range dialects {
				s, mock := newMock(t, d)
				mock.ExpectExec(deleteExpiredSQL[d]).WithArgs(at(d, t0)).WillReturnResult(sqlmock.NewResult(0, 2))
				expectPrune(mock, d, tc.old, tc.young, tc.newest, tc.deleteTo)
				n, err := s.DeleteExpired(ctx, t0.Add(999).In(time.Local))
				require.NoError(t, err)
				assert.Equal(t, 2, n)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.SQLite)
		mock.ExpectExec(deleteExpiredSQL[sqlstore.SQLite]).WithArgs(t0.UnixMicro()).
			WillReturnResult(sqlmock.NewErrorResult(errDown))
		mock.ExpectExec(deleteExpiredSQL[sqlstore.SQLite]).WithArgs(t0.UnixMicro()).WillReturnResult(sqlmock.NewResult(0, 3))
		pruneBounds(mock, sqlstore.SQLite, 0, 0, 0).WillReturnError(errDown)
		mock.ExpectExec(deleteExpiredSQL[sqlstore.SQLite]).WithArgs(t0.UnixMicro()).WillReturnResult(sqlmock.NewResult(0, 3))
		pruneBounds(mock, sqlstore.SQLite, 4, 5, 7)
		mock.ExpectExec(pruneSQL[sqlstore.SQLite]).WithArgs(4).WillReturnError(errDown)
		_, err := s.DeleteExpired(ctx, t0)
		checkErr(t, err, errDown)
		for range 2 {
			n, err := s.DeleteExpired(ctx, t0)
			checkErr(t, err, errDown)
			assert.Equal(t, 3, n, "the tokens were deleted, the log was not pruned")
		}
	})
}

func TestList(t *testing.T) {
	const q = `SELECT ` + cols + ` FROM "tokenauth_tokens" WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`
	ctx := context.Background()
	t.Run("rows", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(q).WithArgs("user-1").WillReturnRows(tokenRow().
			AddRow(noPolicy("a", "user-1", "one", "[]", []byte{1}, t0, nil, nil, nil)...).
			AddRow(noPolicy("b", "user-1", "two", `["x"]`, []byte{2}, t0.Add(time.Second), t0.Add(time.Hour), t0, t0.Add(2*time.Hour))...))
		got, err := s.List(ctx, "user-1")
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "a", got[0].ID)
		assert.Equal(t, []string{"x"}, got[1].Scopes)
		assert.Equal(t, t0, got[1].LastUsedAt)
		assert.Equal(t, t0.Add(2*time.Hour), got[1].MaxExpiresAt)
		assert.True(t, got[0].MaxExpiresAt.IsZero(), "NULL is the zero time")
	})
	t.Run("none is an empty slice", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(q).WithArgs("nobody").WillReturnRows(tokenRow())
		got, err := s.List(ctx, "nobody")
		require.NoError(t, err)
		assert.NotNil(t, got)
		assert.Empty(t, got)
	})
	t.Run("errors", func(t *testing.T) {
		s, mock := newMock(t, sqlstore.Postgres)
		mock.ExpectQuery(q).WithArgs("u").WillReturnError(errDown)
		mock.ExpectQuery(q).WithArgs("u").WillReturnRows(tokenRow().
			AddRow(noPolicy("a", "u", "", "[]", []byte{1}, t0, nil, nil, nil)...).RowError(0, errDown))
		mock.ExpectQuery(q).WithArgs("u").WillReturnRows(tokenRow().
			AddRow(noPolicy("a", "u", "", "{", []byte{1}, t0, nil, nil, nil)...))
		for i := range 3 {
			got, err := s.List(ctx, "u")
			assert.Nil(t, got)
			require.Error(t, err, "case %d", i)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
			if i < 2 {
				assert.ErrorIs(t, err, errDown)
			}
		}
	})
}

// execResult describes an Exec outcome.
type execResult struct {
	rows    int64
	err     error // the statement fails
	rowsErr error // RowsAffected fails
}

func (r execResult) expect(e *sqlmock.ExpectedExec) {
	switch {
	case r.err != nil:
		e.WillReturnError(r.err)
	case r.rowsErr != nil:
		e.WillReturnResult(sqlmock.NewErrorResult(r.rowsErr))
	default:
		e.WillReturnResult(sqlmock.NewResult(0, r.rows))
	}
}

// checkErr asserts that err is nil when want is, and otherwise matches want
// and, unless want is ErrNotFound, is not ErrNotFound: a failure must never
// read as "no such token".
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		assert.NoError(t, err)
		return
	}
	assert.ErrorIs(t, err, want)
	if !errors.Is(want, tokenauth.ErrNotFound) {
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
	}
}

// A database failure reaches the client as 503, never as 401 "Invalid
// token.", which would make it discard a good token.
func TestDriverErrorIsAnOutageForTheAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		name       string
		respond    func(*sqlmock.ExpectedQuery)
		wantStatus int
	}{
		{"outage", func(e *sqlmock.ExpectedQuery) { e.WillReturnError(errDown) }, http.StatusServiceUnavailable},
		{"timeout", func(e *sqlmock.ExpectedQuery) { e.WillReturnError(context.DeadlineExceeded) }, http.StatusServiceUnavailable},
		{"unknown token", func(e *sqlmock.ExpectedQuery) { e.WillReturnRows(tokenRow()) }, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.Postgres)
			a, err := tokenauth.New(s, tokenauth.Options{Logger: discardLogger()})
			require.NoError(t, err)
			key := issuedElsewhere(t)
			tc.respond(mock.ExpectQuery(findPG).WithArgs(tokenauth.SHA256.Digest(key)))

			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Token "+key)
			a.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("handler reached")
			})).ServeHTTP(rec, req)
			assert.Equal(t, tc.wantStatus, rec.Code)
			assert.NotContains(t, rec.Body.String(), "refused")
		})
	}
}

// discardLogger keeps expected store failures out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
