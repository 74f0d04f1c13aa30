package integration_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// The behavioural suite, on a fresh table per subtest.
func TestStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
			return newTestStore(t, db, b.dialect)
		})
	})
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		table := uniqueTable(t)
		dropTable(t, db, b.dialect, table)
		const workers = 6
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
				if err == nil {
					err = s.Migrate(ctx)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "concurrent Migrate %d", i)
		}

		s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
		require.NoError(t, err)
		tok := &tokenauth.Token{ID: "id-1", UserID: "u", CreatedAt: time.Now(), Digest: bytes.Repeat([]byte{1}, 32)}
		require.NoError(t, s.Create(ctx, tok))
		require.NoError(t, s.Migrate(ctx), "Migrate on an existing table")
		got, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err, "the data survives a second Migrate")
		assert.Equal(t, "id-1", got.ID)
	})
}

// Earlier schemas, in testdata/schema_<version>_<dialect>.sql.
const (
	schemaV1      = "v1"      // before max_expires_at
	schemaB4bfc5b = "b4bfc5b" // before the cut-offs (v0.1.0)
	schema4a654d6 = "4a654d6" // v0.1.0's, before the policy columns
)

// oldTable creates a table of the schema before max_expires_at, dropped at
// the end of the test, and returns its name.
func oldTable(t *testing.T, db *sql.DB, d sqlstore.Dialect) string {
	t.Helper()
	return tableOfSchema(t, db, d, schemaV1)
}

// tableOfSchema creates a table of an earlier schema, with its triggers
// and log where it had them, dropped at the end of the test, and returns
// its name.
func tableOfSchema(t *testing.T, db *sql.DB, d sqlstore.Dialect, version string) string {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", "schema_"+version+"_"+d.String()+".sql"))
	require.NoError(t, err)
	table := uniqueTable(t)
	dropTable(t, db, d, table)
	for _, stmt := range strings.Split(strings.TrimSpace(string(ddl)), ";\n\n") {
		stmt = strings.TrimSuffix(strings.ReplaceAll(stmt, "tokenauth_tokens", table), ";")
		_, err := db.ExecContext(context.Background(), stmt)
		require.NoError(t, err)
	}
	return table
}

// Migrate adds max_expires_at to a table of the earlier schema, from several
// processes at once, keeping its tokens, whose expiry becomes their
// absolute deadline.
func TestMigrateUpgradesAnOlderTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		table := oldTable(t, db, b.dialect)
		created, expires := time.Now().UTC().Truncate(time.Microsecond), time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)
		args := []any{created, expires}
		if b.dialect == sqlstore.SQLite {
			args = []any{created.UnixMicro(), expires.UnixMicro()}
		}
		insert := "INSERT INTO " + table + " (id, user_id, name, scopes, digest, created_at, expires_at) VALUES ('old', 'u', 'n', '[]', X'01', ?, ?)"
		if b.dialect == sqlstore.Postgres {
			insert = strings.NewReplacer("X'01'", `'\x01'::bytea`, "?, ?", "$1, $2").Replace(insert)
		}
		_, err := db.ExecContext(ctx, insert, args...)
		require.NoError(t, err)

		const workers = 4
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
				if err == nil {
					err = s.Migrate(ctx)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "concurrent Migrate %d", i)
		}
		s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx), "Migrate on an upgraded table")

		old, err := s.Find(ctx, []byte{1})
		require.NoError(t, err)
		assert.Equal(t, "old", old.ID)
		assert.True(t, expires.Equal(old.ExpiresAt), "ExpiresAt %v, want %v", old.ExpiresAt, expires)
		assert.True(t, expires.Equal(old.MaxExpiresAt), "an old token's expiry became its deadline: %v", old.MaxExpiresAt)
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: "old", LastUsed: time.Now(), ExpiresAt: expires.Add(time.Hour)}}))
		old, err = s.Find(ctx, []byte{1})
		require.NoError(t, err)
		assert.True(t, expires.Equal(old.ExpiresAt), "an old token's expiry no longer slides past it: %v", old.ExpiresAt)

		capped := &tokenauth.Token{
			ID: "new", UserID: "u", CreatedAt: created, ExpiresAt: expires,
			MaxExpiresAt: expires.Add(time.Hour), Digest: []byte{2},
		}
		require.NoError(t, s.Create(ctx, capped))
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: "new", LastUsed: time.Now(), ExpiresAt: expires.Add(5 * time.Hour)}}))
		got, err := s.Find(ctx, []byte{2})
		require.NoError(t, err)
		assert.True(t, capped.MaxExpiresAt.Equal(got.MaxExpiresAt))
		assert.True(t, capped.MaxExpiresAt.Equal(got.ExpiresAt), "ExpiresAt %v, want the cap %v", got.ExpiresAt, capped.MaxExpiresAt)
	})
}

// An upgraded table behaves as a new one: the whole suite passes on it.
func TestStoreOnUpgradedTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		for _, version := range []string{schemaV1, schemaB4bfc5b, schema4a654d6} {
			t.Run("from "+version, func(t *testing.T) {
				tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
					s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: tableOfSchema(t, db, b.dialect, version)})
					require.NoError(t, err)
					require.NoError(t, s.Migrate(context.Background()))
					return s
				})
			})
		}
	})
}

// legacyToken is a row as an earlier release wrote it, for a key that
// authenticates.
type legacyToken struct {
	key                 string
	id, user            string
	created             time.Time
	expires, maxExpires time.Time // zero: NULL
}

// insertLegacy writes tok's row into table with plain SQL, as the release
// that created the table did.
func insertLegacy(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string, tok legacyToken) {
	t.Helper()
	q := "INSERT INTO " + table + " (id, user_id, name, scopes, digest, created_at, expires_at, max_expires_at) VALUES (?, ?, 'legacy', '[]', ?, ?, ?, ?)"
	if d == sqlstore.Postgres {
		q = strings.NewReplacer("?, ?, 'legacy', '[]', ?, ?, ?, ?", "$1, $2, 'legacy', '[]', $3, $4, $5, $6").Replace(q)
	}
	orNull := func(v time.Time) any {
		if v.IsZero() {
			return nil
		}
		return at(d, v)
	}
	_, err := db.ExecContext(context.Background(), q, tok.id, tok.user, tokenauth.SHA256.Digest(tok.key),
		at(d, tok.created), orNull(tok.expires), orNull(tok.maxExpires))
	require.NoError(t, err)
}

// A database made by the schema of b4bfc5b, with tokens in it, migrates
// forward: the cut-offs table appears, every token still authenticates,
// and tokens from before the absolute deadline stop sliding (finding 8: a
// token of 10 s was accepted at 24.7 s with an idle timeout).
func TestMigrateForwardFromB4bfc5b(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		table := tableOfSchema(t, db, b.dialect, schemaB4bfc5b)
		clock := tokenauthtest.NewClock()
		t0 := clock.Now()
		keys := issuedKeys(t, 4)
		legacy := legacyToken{key: keys[0], id: "legacy", user: "u1", created: t0, expires: t0.Add(10 * time.Second)}
		expired := legacyToken{key: keys[1], id: "expired", user: "u1", created: t0.Add(-2 * time.Hour), expires: t0.Add(-time.Hour)}
		capped := legacyToken{key: keys[2], id: "capped", user: "u2", created: t0, expires: t0.Add(time.Hour), maxExpires: t0.Add(2 * time.Hour)}
		forever := legacyToken{key: keys[3], id: "forever", user: "u2", created: t0}
		for _, tok := range []legacyToken{legacy, expired, capped, forever} {
			insertLegacy(t, db, b.dialect, table, tok)
		}

		s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table, Logger: discardLogger()})
		require.NoError(t, err)
		rep, err := s.MigrateReport(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.MigrationReport{Backfilled: 2, NeverExpire: 1, AddedColumns: policyColumns}, rep)
		rep, err = s.MigrateReport(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.MigrationReport{NeverExpire: 1}, rep, "the backfill runs once")

		for _, tok := range []legacyToken{legacy, expired} {
			got, err := s.Find(ctx, tokenauth.SHA256.Digest(tok.key))
			require.NoError(t, err)
			assert.True(t, tok.expires.Equal(got.MaxExpiresAt), "%s: MaxExpiresAt %v, want its expiry %v", tok.id, got.MaxExpiresAt, tok.expires)
			assert.True(t, tok.expires.Equal(got.ExpiresAt), "%s: the expiry stays", tok.id)
		}

		// The tokens authenticate; the legacy one is used at 5 s, which with
		// an idle timeout of 10 s would have slid it to 15 s.
		opts := tokenauth.Options{IdleTimeout: 10 * time.Second, TouchInterval: time.Second, Now: clock.Now, Logger: discardLogger()}
		clock.Advance(5 * time.Second)
		a, err := tokenauth.New(s, opts)
		require.NoError(t, err)
		for _, tok := range []legacyToken{legacy, capped, forever} {
			_, err := a.Verify(ctx, tok.key)
			assert.NoError(t, err, "%s still authenticates", tok.id)
		}
		_, err = a.Verify(ctx, expired.key)
		assert.ErrorIs(t, err, tokenauth.ErrExpired)
		require.NoError(t, a.Close()) // writes the uses
		got, err := s.Find(ctx, tokenauth.SHA256.Digest(legacy.key))
		require.NoError(t, err)
		assert.True(t, legacy.expires.Equal(got.ExpiresAt), "the use did not slide the expiry past the deadline: %v", got.ExpiresAt)
		assert.True(t, t0.Add(5*time.Second).Equal(got.LastUsedAt), "the use was recorded: %v", got.LastUsedAt)

		clock.Advance(7 * time.Second) // 12 s
		a, err = tokenauth.New(s, opts)
		require.NoError(t, err)
		defer a.Close()
		_, err = a.Verify(ctx, legacy.key)
		assert.ErrorIs(t, err, tokenauth.ErrExpired, "a 10 s token at 12 s")
		_, err = a.Verify(ctx, forever.key)
		assert.NoError(t, err)

		// The v0.1.0 contract holds on the migrated table: cut-offs.
		n, err := s.DeleteUser(ctx, "u2", t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		err = s.Create(ctx, &tokenauth.Token{ID: "late", UserID: "u2", CreatedAt: t0, Digest: []byte{9}})
		assert.ErrorIs(t, err, tokenauth.ErrRevoked)
	})
}

// issuedKeys returns n well-formed keys of the default Authenticator.
func issuedKeys(t *testing.T, n int) []string {
	t.Helper()
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	require.NoError(t, err)
	var keys []string
	for range n {
		key, _, err := a.Issue(context.Background(), "elsewhere", tokenauth.IssueOptions{})
		require.NoError(t, err)
		keys = append(keys, key)
	}
	return keys
}

// The lookup by digest and the listing by user are index searches, not
// table scans. The benchmarks measure the same at 10⁶ rows.
func TestQueriesUseIndexes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		s := newTestStore(t, db, b.dialect)
		for i := range 20 {
			tok := &tokenauth.Token{
				ID: fmt.Sprint("id-", i), UserID: fmt.Sprint("user-", i%4), CreatedAt: time.Now(),
				Digest: bytes.Repeat([]byte{byte(i + 1)}, 32),
			}
			require.NoError(t, s.Create(ctx, tok))
		}
		arg := "?"
		if b.dialect == sqlstore.Postgres {
			arg = "$1"
		}
		// What each database's plan says when it searches the index.
		want := map[sqlstore.Dialect][2]string{
			sqlstore.Postgres: {s.Table() + "_digest_key", s.Table() + "_user_id_idx"},
			sqlstore.MySQL:    {"key=digest_key", "key=user_id_idx"},
			sqlstore.SQLite:   {"(digest=?)", "(user_id=?)"},
		}[b.dialect]
		for i, tc := range []struct {
			column string
			arg    any
		}{{"digest", bytes.Repeat([]byte{1}, 32)}, {"user_id", "user-1"}} {
			t.Run(tc.column, func(t *testing.T) {
				plan := explain(t, ctx, db, b.dialect, "SELECT id FROM "+s.Table()+" WHERE "+tc.column+" = "+arg, tc.arg)
				assert.Contains(t, plan, want[i], "query plan:\n%s", plan)
			})
		}
	})
}

// explain returns the database's plan for query with its argument.
func explain(t *testing.T, ctx context.Context, db *sql.DB, d sqlstore.Dialect, query string, arg any) string {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	prefix := "EXPLAIN "
	switch d {
	case sqlstore.Postgres:
		// An empty table is cheaper to scan; ask whether the index can serve.
		_, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off")
		require.NoError(t, err)
	case sqlstore.SQLite:
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := tx.QueryContext(ctx, prefix+query, arg)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var plan strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range vals {
			fmt.Fprintf(&plan, "%s=%s ", cols[i], v.String)
		}
		plan.WriteString("\n")
	}
	require.NoError(t, rows.Err())
	return plan.String()
}

// The store does not depend on driver settings a host may choose
// differently: pgx's simple protocol (for PgBouncer in transaction mode),
// and go-sql-driver without parseTime or interpolateParams.
func TestStoreDriverSettings(t *testing.T) {
	for _, tc := range []struct {
		name, env, driver string
		dialect           sqlstore.Dialect
		dsn               func(string) string
	}{
		{"postgres simple protocol", envPostgres, "pgx", sqlstore.Postgres, func(dsn string) string {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			return dsn + sep + "default_query_exec_mode=simple_protocol"
		}},
		{"mysql without parseTime", envMySQL, "mysql", sqlstore.MySQL, func(dsn string) string {
			base, query, _ := strings.Cut(dsn, "?")
			var keep []string
			for _, p := range strings.Split(query, "&") {
				if p != "" && !strings.HasPrefix(p, "parseTime=") && !strings.HasPrefix(p, "interpolateParams=") {
					keep = append(keep, p)
				}
			}
			return base + "?" + strings.Join(append(keep, "parseTime=false", "interpolateParams=false"), "&")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := os.Getenv(tc.env)
			if dsn == "" {
				t.Skipf("%s skipped: set %s to a test database's DSN", tc.name, tc.env)
			}
			db, err := sql.Open(tc.driver, tc.dsn(dsn))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
				return newTestStore(t, db, tc.dialect)
			})
		})
	}
}
