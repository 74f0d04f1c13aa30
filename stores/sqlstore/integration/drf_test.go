package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// drfKey returns a key as DRF generates it: 20 random bytes in hex.
func drfKey(t *testing.T) string {
	t.Helper()
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// drfRow is a row of authtoken_token, and its user's.
type drfRow struct {
	key      string
	userID   int
	created  time.Time
	inactive bool // the user's is_active is false
	noUser   bool // the user is missing from the users table
}

// drfTables names a Django database's token and users tables.
type drfTables struct{ tokens, users string }

// newDRFTables returns Django's table names on SQLite, whose database is
// the test's own, and names of this run's own on a shared server.
func newDRFTables(t *testing.T, b backend) drfTables {
	if b.env == "" {
		return drfTables{sqlstore.DefaultDRFTable, sqlstore.DefaultUsersTable}
	}
	u := uniqueTable(t)
	return drfTables{"authtoken_" + u, "auth_user_" + u}
}

// opts returns the ImportOptions that read the tables.
func (dt drfTables) opts() sqlstore.ImportOptions {
	return sqlstore.ImportOptions{Table: dt.tokens, UsersTable: dt.users}
}

// createDRFTables creates the tables with the DDL Django's migrations
// produce for auth and rest_framework.authtoken on dialect d, fills them
// with rows, and drops them at the end of the test.
func createDRFTables(t *testing.T, db *sql.DB, d sqlstore.Dialect, dt drfTables, rows []drfRow) {
	t.Helper()
	ctx := context.Background()
	q := func(s string) string {
		s = strings.NewReplacer("TOKENS", dt.tokens, "USERS", dt.users).Replace(s)
		if d == sqlstore.MySQL {
			s = strings.ReplaceAll(s, `"`, "`")
		}
		return s
	}
	ddl := map[sqlstore.Dialect][]string{
		sqlstore.SQLite: {
			`CREATE TABLE "USERS" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "username" varchar(150) NOT NULL UNIQUE, "is_active" bool NOT NULL)`,
			// Django adds REFERENCES "USERS" ("id"), left out (here and on
			// the servers) so that a row can lack its user.
			`CREATE TABLE "TOKENS" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL UNIQUE)`,
		},
		sqlstore.Postgres: {
			`CREATE TABLE "USERS" ("id" integer NOT NULL PRIMARY KEY, "username" varchar(150) NOT NULL UNIQUE, "is_active" boolean NOT NULL)`,
			`CREATE TABLE "TOKENS" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" timestamp with time zone NOT NULL, "user_id" integer NOT NULL UNIQUE)`,
		},
		sqlstore.MySQL: {
			`CREATE TABLE "USERS" ("id" integer NOT NULL PRIMARY KEY, "username" varchar(150) NOT NULL UNIQUE, "is_active" bool NOT NULL)`,
			`CREATE TABLE "TOKENS" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime(6) NOT NULL, "user_id" integer NOT NULL UNIQUE)`,
		},
	}[d]
	insertUser := `INSERT INTO "USERS" ("id", "username", "is_active") VALUES (?, ?, ?)`
	insertToken := `INSERT INTO "TOKENS" ("key", "created", "user_id") VALUES (?, ?, ?)`
	if d == sqlstore.Postgres {
		insertUser = strings.Replace(insertUser, "?, ?, ?", "$1, $2, $3", 1)
		insertToken = strings.Replace(insertToken, "?, ?, ?", "$1, $2, $3", 1)
	}
	t.Cleanup(func() {
		for _, table := range []string{dt.tokens, dt.users} {
			_, err := db.ExecContext(context.Background(), q(`DROP TABLE IF EXISTS "`+table+`"`))
			assert.NoError(t, err)
		}
	})
	for _, stmt := range ddl {
		_, err := db.ExecContext(ctx, q(stmt))
		require.NoError(t, err)
	}
	for _, r := range rows {
		if !r.noUser {
			_, err := db.ExecContext(ctx, q(insertUser), r.userID, "user"+strconv.Itoa(r.userID), !r.inactive)
			require.NoError(t, err)
		}
		var created any = r.created
		if d == sqlstore.SQLite {
			// Django's SQLite backend stores naive UTC text.
			created = r.created.UTC().Format("2006-01-02 15:04:05.000000")
		}
		_, err := db.ExecContext(ctx, q(insertToken), r.key, created, r.userID)
		require.NoError(t, err)
	}
}

// An import of real DRF-shaped tables on each database: the keys of active
// users then authenticate through the middleware, those of inactive users
// are not imported, a second import skips every key, and a key revoked in
// tokenauth is never brought back.
func TestImportDRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		created := time.Date(2019, 6, 1, 8, 30, 15, 123456000, time.UTC)
		keys := []string{drfKey(t), drfKey(t), drfKey(t), drfKey(t), drfKey(t)}
		rows := []drfRow{
			{key: keys[0], userID: 1, created: created},
			{key: "not-a-key", userID: 2, created: created},
			{key: keys[1], userID: 42, created: created.Add(time.Hour)},
			{key: strings.ToUpper(drfKey(t)), userID: 3, created: created},
			{key: keys[2], userID: 7, created: created},
			{key: keys[3], userID: 8, created: created, inactive: true},
			{key: keys[4], userID: 9, created: created, noUser: true},
		}
		dt := newDRFTables(t, b)
		createDRFTables(t, db, b.dialect, dt, rows)

		s := newTestStore(t, db, b.dialect)
		a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true})
		require.NoError(t, err)
		var progress []sqlstore.ImportResult
		opts := dt.opts()
		opts.ProgressEvery, opts.Progress = 2, func(r sqlstore.ImportResult) { progress = append(progress, r) }
		res, err := s.Import(ctx, db, a, opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Imported: 3, Inactive: 2, Invalid: 2}, res)
		assert.Len(t, progress, 3, "called after rows 2, 4 and 6")

		// An old key authenticates, and the record carries DRF's data.
		var got tokenauth.Principal
		h := a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Token, _ = tokenauth.FromContext(r.Context())
		}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		req.Header.Set("Authorization", "Token "+keys[1])
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NotNil(t, got.Token)
		assert.Equal(t, "42", got.Token.UserID)
		assert.Equal(t, "drf", got.Token.Name)
		assert.True(t, got.Token.ExpiresAt.IsZero())
		assert.True(t, got.Token.MaxExpiresAt.IsZero(), "DRF keys have no absolute deadline")
		assert.True(t, created.Add(time.Hour).Equal(got.Token.CreatedAt), "CreatedAt %v", got.Token.CreatedAt)
		for _, inactive := range keys[3:] {
			_, err = a.Verify(ctx, inactive)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "an inactive or missing user's key is not imported")
		}

		// Without AcceptLegacyKeys the same key is refused before any lookup.
		strict, err := tokenauth.New(s, tokenauth.Options{})
		require.NoError(t, err)
		_, err = strict.Verify(ctx, keys[1])
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)

		// Idempotent; a revoked key stays revoked.
		p, err := a.Verify(ctx, keys[0])
		require.NoError(t, err)
		require.NoError(t, a.Revoke(ctx, p.Token.ID))
		res, err = s.Import(ctx, db, a, dt.opts())
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Skipped: 3, Inactive: 2, Invalid: 2}, res)
		_, err = a.Verify(ctx, keys[0])
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "an import never brings a revoked key back")

		// Inactive users' keys, on request.
		opts = dt.opts()
		opts.IncludeInactive = true
		res, err = s.Import(ctx, db, a, opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Imported: 2, Skipped: 3, Invalid: 2}, res)
		_, err = a.Verify(ctx, keys[3])
		assert.NoError(t, err)
	})
}

// Keys created before their user's tokens were all revoked in tokenauth
// are refused.
func TestImportAfterRevokeAll(t *testing.T) {
	ctx := context.Background()
	b := backends[0]
	db := b.open(t)
	key := drfKey(t)
	dt := newDRFTables(t, b)
	createDRFTables(t, db, b.dialect, dt, []drfRow{{key: key, userID: 5, created: time.Now().Add(-time.Hour)}})
	s := newTestStore(t, db, b.dialect)
	a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true})
	require.NoError(t, err)
	_, err = a.RevokeAll(ctx, "5") // the password changed after the key was made
	require.NoError(t, err)
	res, err := s.Import(ctx, db, a, dt.opts())
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Revoked: 1}, res)
	res, err = s.Import(ctx, db, a, dt.opts())
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Skipped: 1}, res)
}

func TestImportOptions(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	key := drfKey(t)
	createDRFTables(t, src, sqlstore.SQLite, newDRFTables(t, backends[0]), []drfRow{{key: key, userID: 9, created: time.Now()}})
	dst := newTestStore(t, src, sqlstore.SQLite)
	h, err := tokenauth.NewHMAC([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	a, err := tokenauth.New(dst, tokenauth.Options{Hasher: h, AcceptLegacyKeys: true})
	require.NoError(t, err)

	res, err := dst.Import(ctx, src, a, sqlstore.ImportOptions{Name: "django", Scopes: []string{"*"}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Imported)
	tok, err := dst.Find(ctx, h.Digest(key))
	require.NoError(t, err, "stored under the Authenticator's digest")
	assert.Equal(t, "django", tok.Name)
	assert.Equal(t, []string{"*"}, tok.Scopes)
	assert.Equal(t, "9", tok.UserID)
}

// A table of UUID keys with other column names and no creation time, as
// a custom Django token model keeps them.
func TestImportUUIDKeys(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	_, err := src.ExecContext(ctx, `CREATE TABLE "api_customtoken" ("id" integer PRIMARY KEY, "token" char(36) NOT NULL, "owner_id" integer NOT NULL)`)
	require.NoError(t, err)
	const key = "0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c"
	// Django keeps a UUIDField on SQLite and MySQL as 32 hex digits; its
	// clients hold the hyphenated form.
	const stored = "6F1B2C3D4E5F4A6B8C7D9E0F1A2B3C4D"
	const key2 = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	_, err = src.ExecContext(ctx, `INSERT INTO "api_customtoken" VALUES (1, ?, 5), (2, 'not-a-uuid', 6), (3, ?, 7)`,
		"0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c", stored)
	require.NoError(t, err)
	opts := sqlstore.ImportOptions{
		Table: "api_customtoken", KeyColumn: "token", UserColumn: "owner_id", CreatedColumn: "-", Name: "custom",
		UsersTable: "-",
	}
	dst := newTestStore(t, src, sqlstore.SQLite)

	legacyOnly, err := tokenauth.New(dst, tokenauth.Options{AcceptLegacyKeys: true})
	require.NoError(t, err)
	res, err := dst.Import(ctx, src, legacyOnly, opts)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Invalid: 3}, res, "UUID keys need AcceptUUIDKeys")

	// Refused keys were not recorded as imported: they are now.
	a, err := tokenauth.New(dst, tokenauth.Options{AcceptUUIDKeys: true})
	require.NoError(t, err)
	res, err = dst.Import(ctx, src, a, opts)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Imported: 2, Invalid: 1}, res)
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "5", p.Token.UserID)
	assert.Equal(t, "custom", p.Token.Name)
	p, err = a.Verify(ctx, key2)
	require.NoError(t, err, "a key stored without hyphens works in the form clients hold")
	assert.Equal(t, "7", p.Token.UserID)
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	key := drfKey(t)
	createDRFTables(t, src, sqlstore.SQLite, newDRFTables(t, backends[0]),
		[]drfRow{{key: key, userID: 1, created: time.Now()}, {key: drfKey(t), userID: 2, created: time.Now()}})
	dst := newTestStore(t, src, sqlstore.SQLite)
	auth := func(s tokenauth.Store) *tokenauth.Authenticator {
		a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: true, Logger: discardLogger()})
		require.NoError(t, err)
		return a
	}

	for _, tc := range []struct {
		name string
		src  *sql.DB
		a    *tokenauth.Authenticator
		opts sqlstore.ImportOptions
	}{
		{"nil source", nil, auth(dst), sqlstore.ImportOptions{}},
		{"nil authenticator", src, nil, sqlstore.ImportOptions{}},
		{"unsafe table", src, auth(dst), sqlstore.ImportOptions{Table: "authtoken_token; DROP TABLE auth_user"}},
		{"unsafe column", src, auth(dst), sqlstore.ImportOptions{KeyColumn: "key FROM x; --"}},
		{"unsafe users table", src, auth(dst), sqlstore.ImportOptions{UsersTable: "auth_user u; --"}},
		{"no key column", src, auth(dst), sqlstore.ImportOptions{KeyColumn: "-"}},
		{"three-part table", src, auth(dst), sqlstore.ImportOptions{Table: "a.b.c"}},
		{"trailing dot", src, auth(dst), sqlstore.ImportOptions{Table: "a."}},
		{"leading digit", src, auth(dst), sqlstore.ImportOptions{Table: "1token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := dst.Import(ctx, tc.src, tc.a, tc.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Zero(t, res)
		})
	}

	t.Run("missing table", func(t *testing.T) {
		_, err := dst.Import(ctx, src, auth(dst), sqlstore.ImportOptions{Table: "main.no_such_table"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no_such_table")
	})
	t.Run("missing users table", func(t *testing.T) {
		_, err := dst.Import(ctx, src, auth(dst), sqlstore.ImportOptions{UsersTable: "accounts_user"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "accounts_user")
	})
	t.Run("destination outage stops the import, and leaves no key recorded", func(t *testing.T) {
		failing := tokenauthtest.NewFailingStore(dst)
		failing.SetErr(errDown)
		res, err := dst.Import(ctx, src, auth(failing), sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, errDown)
		assert.Zero(t, res)
		assert.NotContains(t, err.Error(), key, "keys never reach errors")
		res, err = dst.Import(ctx, src, auth(dst), sqlstore.ImportOptions{})
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Imported: 2}, res)
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := dst.Import(ctx, src, auth(dst), sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, context.Canceled)
	})
}
