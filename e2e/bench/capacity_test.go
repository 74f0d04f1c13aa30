package bench

// The figures of README's capacity note: how many tokens each store issues
// a second, and how much heap a token takes in memstore and in cachestore.
// Lookups a second come from run.sh, which serves real requests. The
// stores' servers are named by the same variables as in the other
// benchmarks; each store owns tables or keys named tokenauth_capacity_*.
//
//	go test -run '^$' -bench Issue -benchtime 3s -count 3 .
//	go test -run '^$' -bench HeapPerToken -benchtime 1x -count 3 .

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// capacityParallelism is RunParallel's goroutines per GOMAXPROCS: 16
// callers on 2 cores, as many as the connections the PostgreSQL, MySQL
// and Redis stores keep, so that a store waiting on the network is not
// starved of callers.
const capacityParallelism = 8

// capacityUsers is how many users the issued tokens belong to.
const capacityUsers = 1000

// capacityToken is what every issued token carries besides its user: a
// name and one scope, as a token issued from a settings page would.
var capacityToken = tokenauth.IssueOptions{Name: "laptop", Scopes: []string{"read"}}

// capacityStore is a store to measure, opened empty in a namespace of its
// own (a table, a key prefix) that is dropped when the benchmark ends.
type capacityStore struct {
	name string
	env  string // the variable that names its server; empty: none needed
	what string // what env should hold, for the skip message
	open func(tb testing.TB, namespace, addr string) tokenauth.Store
}

var capacityStores = []capacityStore{
	{name: "memstore", open: func(testing.TB, string, string) tokenauth.Store { return memstore.New() }},
	{name: "sqlite", open: func(tb testing.TB, _, _ string) tokenauth.Store {
		return openModeStore(tb, Config{Mode: SQLite, Dir: tb.TempDir()})
	}},
	{name: "postgres", env: "TOKENAUTH_TEST_POSTGRES_DSN", what: "a postgres:// URL",
		open: func(tb testing.TB, ns, dsn string) tokenauth.Store {
			return openModeStore(tb, Config{Mode: Postgres, PostgresDSN: dsn, Namespace: ns})
		}},
	{name: "mysql", env: "TOKENAUTH_TEST_MYSQL_DSN", what: "a MySQL or MariaDB DSN (user:pass@tcp(host:3306)/db)",
		open: openMySQL},
	{name: "redis", env: "TOKENAUTH_TEST_REDIS_ADDR", what: "host:port of a Redis server",
		open: func(tb testing.TB, ns, addr string) tokenauth.Store {
			return openModeStore(tb, Config{Mode: Redis, RedisAddr: addr, Namespace: ns})
		}},
	{name: "redis-cluster", env: "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS", what: "host:port of each Redis Cluster primary, comma-separated",
		open: openRedisCluster},
}

// BenchmarkIssue is Authenticator.Issue with parallel callers into each
// store, with the default Options; tokens/s is the throughput. Each
// store's server is named by its environment variable, as in the other
// benchmarks; a store whose variable is unset is skipped.
func BenchmarkIssue(b *testing.B) {
	for _, cs := range capacityStores {
		b.Run(cs.name, func(b *testing.B) {
			addr := ""
			if cs.env != "" {
				if addr = os.Getenv(cs.env); addr == "" {
					b.Skipf("%s is not set; set it to %s to measure %s", cs.env, cs.what, cs.name)
				}
			}
			st := cs.open(b, "tokenauth_capacity_"+strings.ReplaceAll(cs.name, "-", "_"), addr)
			a, err := tokenauth.New(st, tokenauth.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() }) // before the store's cleanup
			var next atomic.Int64
			b.SetParallelism(capacityParallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					user := "user-" + strconv.FormatInt(next.Add(1)%capacityUsers, 10)
					if _, _, err := a.Issue(ctx, user, capacityToken); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// openModeStore opens the store of a load-test mode as the servers do,
// empty, and releases it when tb ends.
func openModeStore(tb testing.TB, cfg Config) tokenauth.Store {
	tb.Helper()
	s := &Server{Mode: cfg.Mode}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	setup, err := s.openStore(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return setup.serve
}

// openMySQL opens sqlstore on MySQL or MariaDB in table, dropping the
// table and the three sqlstore keeps beside it before and after.
func openMySQL(tb testing.TB, table, dsn string) tokenauth.Store {
	tb.Helper()
	ctx := context.Background()
	db, st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Table: table})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(dbPoolSize)
	db.SetMaxIdleConns(dbPoolSize)
	drop := "DROP TABLE IF EXISTS `" + table + "`"
	for _, suffix := range []string{"_revocations", "_cutoffs", "_imports"} {
		drop += ", `" + table + suffix + "`"
	}
	if _, err := db.ExecContext(ctx, drop); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), drop); err != nil {
			tb.Error(err)
		}
	})
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

// openRedisCluster opens redisstore on a Redis Cluster under a prefix
// without a hash tag, so that tokens spread over every primary, and
// removes the prefix's keys before and after.
func openRedisCluster(tb testing.TB, ns, addrs string) tokenauth.Store {
	tb.Helper()
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: strings.Split(addrs, ","), PoolSize: dbPoolSize, ContextTimeoutEnabled: true,
	})
	tb.Cleanup(func() { _ = client.Close() })
	prefix := ns + ":"
	// Key by key: one UNLINK of keys in several slots is refused.
	purge := func(ctx context.Context) error {
		return client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			pipe := node.Pipeline()
			for iter.Next(ctx) {
				pipe.Unlink(ctx, iter.Val())
				if pipe.Len() == 1000 {
					if _, err := pipe.Exec(ctx); err != nil {
						return err
					}
				}
			}
			if err := iter.Err(); err != nil {
				return err
			}
			_, err := pipe.Exec(ctx) // nil when empty
			return err
		})
	}
	if err := purge(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := purge(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	st, err := redisstore.New(client, redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// capacityHeapTokens is how many tokens the heap figures are taken over.
const capacityHeapTokens = 100_000

// heapFigures are the stores whose heap per token is measured.
var heapFigures = []struct {
	name     string
	perToken func(tb testing.TB, n int) float64
}{
	{"memstore", memstoreHeapPerToken},
	{"cachestore", cacheHeapPerToken},
}

// BenchmarkHeapPerToken reports the heap each token holds (B/token) in
// memstore, and in cachestore's cache, filled with 10⁵ tokens; ns/op is
// the time to fill:
//
//	go test -run '^$' -bench HeapPerToken -benchtime 1x -count 3 .
func BenchmarkHeapPerToken(b *testing.B) {
	for _, h := range heapFigures {
		b.Run(h.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = h.perToken(b, capacityHeapTokens)
			}
			b.ReportMetric(per, "B/token")
		})
	}
}

// TestCapacityHeapPerToken checks that the heap figures are taken at all,
// on few tokens: each holds its record, so more than the 32 bytes of its
// digest, and less than a few KB.
func TestCapacityHeapPerToken(t *testing.T) {
	for _, h := range heapFigures {
		t.Run(h.name, func(t *testing.T) {
			per := h.perToken(t, 2000)
			t.Logf("%.0f B/token", per)
			if per < 32 || per > 4096 {
				t.Errorf("%.0f B/token: the measure is broken", per)
			}
		})
	}
}

// memstoreHeapPerToken returns the heap a memstore holds per token, over
// n tokens issued as the Authenticator issues them.
func memstoreHeapPerToken(tb testing.TB, n int) float64 {
	tb.Helper()
	s := memstore.New()
	a := capacityIssuer(tb, s)
	before := capacityHeap()
	for i := range n {
		if _, _, err := a.Issue(context.Background(), "user-"+strconv.Itoa(i%capacityUsers), capacityToken); err != nil {
			tb.Fatal(err)
		}
	}
	after := capacityHeap()
	if s.Len() != n {
		tb.Fatalf("memstore holds %d tokens, want %d", s.Len(), n)
	}
	runtime.KeepAlive(s)
	return (after - before) / float64(n)
}

// cacheHeapPerToken returns the heap cachestore holds per cached token,
// once it has found n tokens: its entry and indexes, and the token itself,
// as the store in front of a database holds one decoded copy per entry.
func cacheHeapPerToken(tb testing.TB, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	s := memstore.New()
	a := capacityIssuer(tb, s)
	digests := make([][]byte, n)
	for i := range digests {
		_, t, err := a.Issue(ctx, "user-"+strconv.Itoa(i%capacityUsers), capacityToken)
		if err != nil {
			tb.Fatal(err)
		}
		digests[i] = t.Digest
	}
	c, err := cachestore.New(freshFinds{watchedMemstore{s}}, cachestore.Options{Size: n})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	// Unwatched, the cache sends every lookup to the store and keeps
	// nothing.
	for deadline := time.Now().Add(5 * time.Second); !c.Stats().Watching; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("the cache does not watch the store")
		}
	}
	before := capacityHeap()
	for _, d := range digests {
		if _, err := c.Find(ctx, d); err != nil {
			tb.Fatal(err)
		}
	}
	after := capacityHeap()
	if st := c.Stats(); st.Len != n || st.Misses != uint64(n) {
		tb.Fatalf("the cache holds %d tokens after %d misses, want %d", st.Len, st.Misses, n)
	}
	runtime.KeepAlive(digests)
	return (after - before) / float64(n)
}

// freshFinds answers each lookup with a new copy of the record, strings
// and all, as sqlstore and redisstore do when they decode a row or a
// hash, where memstore hands out the record it holds.
type freshFinds struct{ watchedMemstore }

func (f freshFinds) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	t, err := f.watchedMemstore.Find(ctx, digest)
	if err != nil {
		return nil, err
	}
	c := t.Clone()
	for _, s := range []*string{&c.ID, &c.UserID, &c.Name, &c.CreatedFrom, &c.UserAgent} {
		*s = strings.Clone(*s)
	}
	for i := range c.Scopes {
		c.Scopes[i] = strings.Clone(c.Scopes[i])
	}
	return c, nil
}

func capacityIssuer(tb testing.TB, s tokenauth.Store) *tokenauth.Authenticator {
	tb.Helper()
	a, err := tokenauth.New(s, tokenauth.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a
}

// capacityHeap returns the live heap, after collecting twice (the second
// frees what the first's finalizers let go).
func capacityHeap() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}
