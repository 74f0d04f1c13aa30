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

// oldTable creates a table of the schema before max_expires_at, dropped at
// the end of the test, and returns its name.
func oldTable(t *testing.T, db *sql.DB, d sqlstore.Dialect) string {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", "schema_v1_"+d.String()+".sql"))
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
// processes at once, keeping its tokens, which have no absolute deadline.
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
		assert.True(t, old.MaxExpiresAt.IsZero(), "an old token has no absolute deadline")
		require.NoError(t, s.Touch(ctx, "old", time.Now(), expires.Add(time.Hour)))
		old, err = s.Find(ctx, []byte{1})
		require.NoError(t, err)
		assert.True(t, expires.Add(time.Hour).Equal(old.ExpiresAt), "an old token's expiry still slides")

		capped := &tokenauth.Token{
			ID: "new", UserID: "u", CreatedAt: created, ExpiresAt: expires,
			MaxExpiresAt: expires.Add(time.Hour), Digest: []byte{2},
		}
		require.NoError(t, s.Create(ctx, capped))
		require.NoError(t, s.Touch(ctx, "new", time.Now(), expires.Add(5*time.Hour)))
		got, err := s.Find(ctx, []byte{2})
		require.NoError(t, err)
		assert.True(t, capped.MaxExpiresAt.Equal(got.MaxExpiresAt))
		assert.True(t, capped.MaxExpiresAt.Equal(got.ExpiresAt), "ExpiresAt %v, want the cap %v", got.ExpiresAt, capped.MaxExpiresAt)
	})
}

// An upgraded table behaves as a new one: the whole suite passes on it.
func TestStoreOnUpgradedTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
			s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: oldTable(t, db, b.dialect)})
			require.NoError(t, err)
			require.NoError(t, s.Migrate(context.Background()))
			return s
		})
	})
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
