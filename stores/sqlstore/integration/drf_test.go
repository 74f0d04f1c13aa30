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
		// ImportDRF writes to any tokenauth.Store.
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
		res, err := sqlstore.ImportDRF(ctx, src, dst, a.Hasher(), opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Imported: 3, Invalid: 2}, res)
		assert.Len(t, progress, 2, "called after rows 2 and 4")

		// An old key authenticates, and the record carries DRF's data.
		var got tokenauth.Principal
		h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = tokenauth.PrincipalFromContext(r.Context())
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
		assert.True(t, created.Add(time.Hour).Equal(got.Token.CreatedAt), "CreatedAt %v", got.Token.CreatedAt)

		// Without AcceptLegacyKeys the same key is refused before any lookup.
		strict, err := tokenauth.New(dst, tokenauth.Options{})
		require.NoError(t, err)
		_, err = strict.Verify(ctx, keys[1])
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)

		// Idempotent.
		res, err = sqlstore.ImportDRF(ctx, src, dst, a.Hasher(), opts)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.ImportResult{Skipped: 3, Invalid: 2}, res)
	})
}

func TestImportDRFOptions(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	key := drfKey(t)
	createDRFTable(t, src, sqlstore.SQLite, "authtoken_token", []drfRow{{key, 9, time.Now()}})
	dst := memstore.New()
	h, err := tokenauth.NewHMAC([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)

	res, err := sqlstore.ImportDRF(ctx, src, dst, h, sqlstore.ImportOptions{Name: "django", Scopes: []string{"*"}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Imported)
	tok, err := dst.Find(ctx, h.Digest(key))
	require.NoError(t, err, "stored under the given Hasher's digest")
	assert.Equal(t, "django", tok.Name)
	assert.Equal(t, []string{"*"}, tok.Scopes)
	assert.Equal(t, "9", tok.UserID)
}

func TestImportDRFErrors(t *testing.T) {
	ctx := context.Background()
	src := backends[0].open(t)
	key := drfKey(t)
	createDRFTable(t, src, sqlstore.SQLite, "authtoken_token", []drfRow{{key, 1, time.Now()}, {drfKey(t), 2, time.Now()}})

	for _, tc := range []struct {
		name string
		src  *sql.DB
		dst  tokenauth.Store
		h    tokenauth.Hasher
		opts sqlstore.ImportOptions
	}{
		{"nil source", nil, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{}},
		{"nil destination", src, nil, tokenauth.SHA256, sqlstore.ImportOptions{}},
		{"nil hasher", src, memstore.New(), nil, sqlstore.ImportOptions{}},
		{"unsafe table", src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{Table: "authtoken_token; DROP TABLE auth_user"}},
		{"three-part table", src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{Table: "a.b.c"}},
		{"trailing dot", src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{Table: "a."}},
		{"leading digit", src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{Table: "1token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := sqlstore.ImportDRF(ctx, tc.src, tc.dst, tc.h, tc.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Zero(t, res)
		})
	}

	t.Run("missing table", func(t *testing.T) {
		_, err := sqlstore.ImportDRF(ctx, src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{Table: "main.no_such_table"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no_such_table")
	})
	t.Run("destination outage stops the import", func(t *testing.T) {
		dst := tokenauthtest.NewStore()
		dst.SetErr(errDown)
		res, err := sqlstore.ImportDRF(ctx, src, dst, tokenauth.SHA256, sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, errDown)
		assert.Zero(t, res)
		assert.NotContains(t, err.Error(), key, "keys never reach errors")
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := sqlstore.ImportDRF(ctx, src, memstore.New(), tokenauth.SHA256, sqlstore.ImportOptions{})
		assert.ErrorIs(t, err, context.Canceled)
	})
}
