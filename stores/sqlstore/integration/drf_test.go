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
	"github.com/go-tokenauth/tokenauth/memstore"
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

// drfRow is a row of authtoken_token.
type drfRow struct {
	key     string
	userID  int
	created time.Time
}

// createDRFTable creates table with the DDL Django's migrations produce for
// rest_framework.authtoken on dialect d, fills it with rows, and drops it
// at the end of the test.
func createDRFTable(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string, rows []drfRow) {
	t.Helper()
	ctx := context.Background()
	var ddl []string
	insert := `INSERT INTO "` + table + `" ("key", "created", "user_id") VALUES (?, ?, ?)`
	switch d {
	case sqlstore.SQLite:
		ddl = []string{
			`CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "username" varchar(150) NOT NULL UNIQUE)`,
			`CREATE TABLE "` + table + `" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, ` +
				`"user_id" integer NOT NULL UNIQUE REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED)`,
		}
		for _, r := range rows {
			ddl = append(ddl, `INSERT INTO "auth_user" ("id", "username") VALUES (`+strconv.Itoa(r.userID)+`, 'user`+strconv.Itoa(r.userID)+`')`)
		}
	case sqlstore.Postgres:
		ddl = []string{`CREATE TABLE "` + table + `" ("key" varchar(40) NOT NULL PRIMARY KEY, ` +
			`"created" timestamp with time zone NOT NULL, "user_id" integer NOT NULL UNIQUE)`}
		insert = `INSERT INTO "` + table + `" ("key", "created", "user_id") VALUES ($1, $2, $3)`
	case sqlstore.MySQL:
		ddl = []string{"CREATE TABLE `" + table + "` (`key` varchar(40) NOT NULL PRIMARY KEY, " +
			"`created` datetime(6) NOT NULL, `user_id` integer NOT NULL UNIQUE)"}
		insert = "INSERT INTO `" + table + "` (`key`, `created`, `user_id`) VALUES (?, ?, ?)"
	}
	dropTable(t, db, d, table)
	for _, stmt := range ddl {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	for _, r := range rows {
		var created any = r.created
		if d == sqlstore.SQLite {
			// Django's SQLite backend stores naive UTC text.
			created = r.created.UTC().Format("2006-01-02 15:04:05.000000")
		}
		_, err := db.ExecContext(ctx, insert, r.key, created, r.userID)
		require.NoError(t, err)
	}
}

// An import of a real DRF-shaped table on each database: the old keys then
// authenticate through the middleware, and a second import skips them.
func TestImportDRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, src *sql.DB) {
		ctx := context.Background()
		created := time.Date(2019, 6, 1, 8, 30, 15, 123456000, time.UTC)
		keys := []string{drfKey(t), drfKey(t), drfKey(t)}
		rows := []drfRow{
			{keys[0], 1, created},
			{"not-a-key", 2, created},
			{keys[1], 42, created.Add(time.Hour)},
			{strings.ToUpper(drfKey(t)), 3, created},
			{keys[2], 7, created},
		}
		table := sqlstore.DefaultDRFTable
		if b.env != "" { // a shared server: a table of this run's own
			table = "authtoken_" + uniqueTable(t)
		}
		createDRFTable(t, src, b.dialect, table, rows)

		// Into this package's store on SQLite, into memstore elsewhere:
		// Import writes to any tokenauth.Store.
		var dst tokenauth.Store = memstore.New()
		if b.dialect == sqlstore.SQLite {
			dst = newTestStore(t, b.open(t), sqlstore.SQLite)
		}
		a, err := tokenauth.New(dst, tokenauth.Options{AcceptLegacyKeys: true})
		require.NoError(t, err)

		var progress []sqlstore.ImportResult
		opts := sqlstore.ImportOptions{ProgressEvery: 2, Progress: func(r sqlstore.ImportResult) { progress = append(progress, r) }}
		if table != sqlstore.DefaultDRFTable {
			opts.Table = table
		}
		res, err := sqlstore.Import(ctx, src, a, opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Imported: 3, Invalid: 2}, res)
		assert.Len(t, progress, 2, "called after rows 2 and 4")

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

		// Without AcceptLegacyKeys the same key is refused before any lookup.
		strict, err := tokenauth.New(dst, tokenauth.Options{})
		require.NoError(t, err)
		_, err = strict.Verify(ctx, keys[1])
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)

		// Idempotent.
		res, err = sqlstore.Import(ctx, src, a, opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Skipped: 3, Invalid: 2}, res)
	})
}

func TestImportOptions(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	key := drfKey(t)
	createDRFTable(t, src, sqlstore.SQLite, "authtoken_token", []drfRow{{key, 9, time.Now()}})
	dst := memstore.New()
	h, err := tokenauth.NewHMAC([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	a, err := tokenauth.New(dst, tokenauth.Options{Hasher: h, AcceptLegacyKeys: true})
	require.NoError(t, err)

	res, err := sqlstore.Import(ctx, src, a, sqlstore.ImportOptions{Name: "django", Scopes: []string{"*"}})
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
	opts := sqlstore.ImportOptions{Table: "api_customtoken", KeyColumn: "token", UserColumn: "owner_id", CreatedColumn: "-", Name: "custom"}

	legacyOnly, err := tokenauth.New(memstore.New(), tokenauth.Options{AcceptLegacyKeys: true})
	require.NoError(t, err)
	res, err := sqlstore.Import(ctx, src, legacyOnly, opts)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.ImportResult{Invalid: 3}, res, "UUID keys need AcceptUUIDKeys")

	a, err := tokenauth.New(memstore.New(), tokenauth.Options{AcceptUUIDKeys: true})
	require.NoError(t, err)
	res, err = sqlstore.Import(ctx, src, a, opts)
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
	createDRFTable(t, src, sqlstore.SQLite, "authtoken_token", []drfRow{{key, 1, time.Now()}, {drfKey(t), 2, time.Now()}})
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
		{"nil source", nil, auth(memstore.New()), sqlstore.ImportOptions{}},
		{"nil authenticator", src, nil, sqlstore.ImportOptions{}},
		{"unsafe table", src, auth(memstore.New()), sqlstore.ImportOptions{Table: "authtoken_token; DROP TABLE auth_user"}},
		{"unsafe column", src, auth(memstore.New()), sqlstore.ImportOptions{KeyColumn: "key FROM x; --"}},
		{"no key column", src, auth(memstore.New()), sqlstore.ImportOptions{KeyColumn: "-"}},
		{"three-part table", src, auth(memstore.New()), sqlstore.ImportOptions{Table: "a.b.c"}},
		{"trailing dot", src, auth(memstore.New()), sqlstore.ImportOptions{Table: "a."}},
		{"leading digit", src, auth(memstore.New()), sqlstore.ImportOptions{Table: "1token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := sqlstore.Import(ctx, tc.src, tc.a, tc.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Zero(t, res)
		})
	}

	t.Run("missing table", func(t *testing.T) {
		_, err := sqlstore.Import(ctx, src, auth(memstore.New()), sqlstore.ImportOptions{Table: "main.no_such_table"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no_such_table")
	})
	t.Run("destination outage stops the import", func(t *testing.T) {
		dst := tokenauthtest.NewStore()
		dst.SetErr(errDown)
		res, err := sqlstore.Import(ctx, src, auth(dst), sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, errDown)
		assert.Zero(t, res)
		assert.NotContains(t, err.Error(), key, "keys never reach errors")
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := sqlstore.Import(ctx, src, auth(memstore.New()), sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, context.Canceled)
	})
}
