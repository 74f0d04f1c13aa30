package integration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// BenchmarkFind measures the hot-path lookup by digest on each database,
// with 10³ and 10⁶ tokens in the table. With the unique digest index both
// cost about the same; a table scan would make the second a thousand times
// slower. PostgreSQL and MySQL run when their DSN is set.
//
// The "paired" sub-benchmark alternates lookups in the two tables, so that
// both sizes meet the same machine load, and reports each one's mean and
// their ratio. Seeding 10⁶ rows takes a while, so -short skips that size:
//
//	go test -run '^$' -bench Find -benchtime 20000x .
func BenchmarkFind(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			sizes := []int{1_000, 1_000_000}
			if testing.Short() {
				sizes = sizes[:1]
			}
			tables := make([]*benchTable, len(sizes))
			for i, n := range sizes {
				tables[i] = newBenchTable(b, db, be, n)
			}
			ctx := context.Background()
			for _, t := range tables {
				b.Run(fmt.Sprintf("tokens=%d", t.n), func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						t.find(b, ctx, i)
						i++
					}
				})
			}
			if len(tables) < 2 {
				return
			}
			b.Run("paired", func(b *testing.B) {
				small, large := tables[0], tables[1]
				var inSmall, inLarge time.Duration
				i := 0
				for b.Loop() {
					start := time.Now()
					small.find(b, ctx, i)
					mid := time.Now()
					large.find(b, ctx, i)
					inSmall += mid.Sub(start)
					inLarge += time.Since(mid)
					i++
				}
				b.ReportMetric(float64(inSmall.Nanoseconds())/float64(i), "ns/find@1e3")
				b.ReportMetric(float64(inLarge.Nanoseconds())/float64(i), "ns/find@1e6")
				b.ReportMetric(float64(inLarge)/float64(inSmall), "ratio")
				b.ReportMetric(0, "ns/op") // an op is one lookup in each table
			})
		})
	}
}

// benchTable is a seeded table and a sample of its tokens to look up.
type benchTable struct {
	n      int
	store  *sqlstore.Store
	sample [][]byte
}

// newBenchTable seeds a table with n tokens and looks up a thousand of
// them, spread over the whole table, a few times, so that the pages they
// are on are in the database's cache, as a server's active tokens are: the
// figure is the lookup, not the disk.
func newBenchTable(b *testing.B, db *sql.DB, be backend, n int) *benchTable {
	b.Helper()
	t := &benchTable{n: n, store: newTestStore(b, db, be.dialect), sample: make([][]byte, 1024)}
	start := time.Now()
	digests := seed(b, db, t.store, n)
	b.Logf("%s: seeded %d tokens in %s", be.name, n, time.Since(start).Round(time.Millisecond))
	for i := range t.sample {
		t.sample[i] = digests[rand.IntN(n)]
	}
	for i := range 3 * len(t.sample) {
		t.find(b, context.Background(), i)
	}
	return t
}

// find looks up the i-th token of the sample, cyclically.
func (t *benchTable) find(b *testing.B, ctx context.Context, i int) {
	if _, err := t.store.Find(ctx, t.sample[i%len(t.sample)]); err != nil {
		b.Fatal(err)
	}
}

// seed fills s's table with n tokens, ten per user, and returns their
// digests. Rows go in digest order, in one transaction of multi-row
// INSERTs, so that every index grows at its end: 10⁶ rows take seconds
// rather than minutes.
func seed(tb testing.TB, db *sql.DB, s *sqlstore.Store, n int) [][]byte {
	tb.Helper()
	const batch = 1000
	ctx := context.Background()
	digests := make([][]byte, n)
	for i := range digests {
		sum := sha256.Sum256([]byte("bench-" + strconv.Itoa(i)))
		digests[i] = sum[:]
	}
	slices.SortFunc(digests, bytes.Compare)

	d := s.Dialect()
	table := `"` + s.Table() + `"`
	if d == sqlstore.MySQL {
		table = "`" + s.Table() + "`"
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var createdArg any = created
	if d == sqlstore.SQLite {
		createdArg = created.UnixMicro()
	}

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(tb, err)
	defer func() { _ = tx.Rollback() }()
	var full *sql.Stmt // the statement for a whole batch, prepared once
	args := make([]any, 0, 6*batch)
	for lo := 0; lo < n; lo += batch {
		rows := min(batch, n-lo)
		args = args[:0]
		for i := lo; i < lo+rows; i++ {
			args = append(args, fmt.Sprintf("tok-%08d", i), fmt.Sprintf("user-%07d", i/10), "bench", `["read"]`, digests[i], createdArg)
		}
		if rows < batch || full == nil {
			stmt, err := tx.PrepareContext(ctx, multiInsert(d, table, rows))
			require.NoError(tb, err)
			defer stmt.Close()
			if rows == batch {
				full = stmt
			}
			_, err = stmt.ExecContext(ctx, args...)
			require.NoError(tb, err)
			continue
		}
		_, err := full.ExecContext(ctx, args...)
		require.NoError(tb, err)
	}
	require.NoError(tb, tx.Commit())

	settle(tb, db, d, table)
	return digests
}

// multiInsert returns an INSERT of rows rows into table.
func multiInsert(d sqlstore.Dialect, table string, rows int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (id, user_id, name, scopes, digest, created_at) VALUES ")
	for r := range rows {
		if r > 0 {
			q.WriteString(", ")
		}
		if d == sqlstore.Postgres {
			p := 6 * r
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6)
		} else {
			q.WriteString("(?, ?, ?, ?, ?, ?)")
		}
	}
	return q.String()
}

// settle lets the database finish the work a bulk load leaves behind, so
// that it does not slow the lookups measured next: statistics for the
// planner, and pages written back from the write-ahead log.
func settle(tb testing.TB, db *sql.DB, d sqlstore.Dialect, table string) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	switch d {
	case sqlstore.Postgres:
		_, err := db.ExecContext(ctx, "VACUUM ANALYZE "+table)
		require.NoError(tb, err)
		if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			tb.Logf("CHECKPOINT (needs the pg_checkpoint role): %v", err)
		}
	case sqlstore.MySQL:
		_, err := db.ExecContext(ctx, "ANALYZE TABLE "+table)
		require.NoError(tb, err)
	case sqlstore.SQLite:
		_, err := db.ExecContext(ctx, "ANALYZE "+table)
		require.NoError(tb, err)
		_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		require.NoError(tb, err)
	}
	tb.Logf("settled in %s", time.Since(start).Round(time.Millisecond))
}

// BenchmarkFindPolicy measures what the policy columns cost a lookup:
// it alternates lookups of a token without policy and of one with every
// policy field set, in one table, so that both meet the same machine
// load, and reports each one's mean and their ratio.
//
//	go test -run '^$' -bench FindPolicy -benchtime 20000x .
func BenchmarkFindPolicy(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			ctx := context.Background()
			s := newTestStore(b, db, be.dialect)
			created := time.Now().Truncate(time.Microsecond)
			bare := &tokenauth.Token{ID: "bare", UserID: "u", Name: "laptop", Scopes: []string{"read"}, CreatedAt: created, Digest: bytes.Repeat([]byte{1}, 32)}
			full := withPolicy("full", "u", bytes.Repeat([]byte{2}, 32), created)
			for _, tok := range []*tokenauth.Token{bare, full} {
				require.NoError(b, s.Create(ctx, tok))
			}
			find := func(digest []byte) time.Duration {
				start := time.Now()
				if _, err := s.Find(ctx, digest); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			for range 1000 { // warm the caches and the statement
				find(bare.Digest)
				find(full.Digest)
			}
			var inBare, inFull time.Duration
			n := 0
			for b.Loop() {
				if n%2 == 0 { // alternate which goes first
					inBare += find(bare.Digest)
					inFull += find(full.Digest)
				} else {
					inFull += find(full.Digest)
					inBare += find(bare.Digest)
				}
				n++
			}
			b.ReportMetric(float64(inBare.Nanoseconds())/float64(n), "ns/find-bare")
			b.ReportMetric(float64(inFull.Nanoseconds())/float64(n), "ns/find-policy")
			b.ReportMetric(float64(inFull)/float64(inBare), "ratio")
			b.ReportMetric(0, "ns/op") // an op is one lookup of each
		})
	}
}
