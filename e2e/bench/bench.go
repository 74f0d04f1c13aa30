// Package bench builds the servers of tokenauth's load test: the same JSON
// answer on GET /api/protected/, behind each way of authenticating that
// run.sh compares (see the README). cmd/benchserver serves them on
// loopback; the Go benchmarks of this module drive the same handlers
// in-process.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"

	_ "github.com/jackc/pgx/v5/stdlib" // postgres:// DSNs
	_ "modernc.org/sqlite"             // the SQLite mode's file
)

// Path is the route every server answers.
const Path = "/api/protected/"

// Body is what every server answers on Path, as application/json.
const Body = `{"message":"ok"}`

var body = []byte(Body)

// Mode names one server of the comparison.
type Mode string

// The modes, in the order of the table run.sh prints.
const (
	// Bare is net/http with no authentication: the ceiling.
	Bare Mode = "bare"
	// Memstore is tokenauth's Require over memstore.
	Memstore Mode = "memstore"
	// PostgresCache is tokenauth over sqlstore on PostgreSQL behind
	// cachestore.
	PostgresCache Mode = "postgres-cache"
	// MemstoreCache is tokenauth over memstore behind cachestore, which
	// watches a stand-in for a store's events (see watchedMemstore): the
	// cache's hit path without a database, for A/B runs of the cache.
	MemstoreCache Mode = "memstore-cache"
	// Postgres is tokenauth over sqlstore on PostgreSQL, one query per
	// request.
	Postgres Mode = "postgres"
	// SQLite is tokenauth over sqlstore on a SQLite file.
	SQLite Mode = "sqlite"
	// GinBare is gin with no authentication.
	GinBare Mode = "gin-bare"
	// Gin is gin with ginauth.Require over memstore.
	Gin Mode = "gin"
	// EchoBare is echo with no authentication.
	EchoBare Mode = "echo-bare"
	// EchoKeyAuth is echo's own KeyAuth middleware with a validator that
	// looks the key up in a map, as a user of echo would write it.
	EchoKeyAuth Mode = "echo-keyauth"
	// JWTAuth is go-chi/jwtauth's Verifier and Authenticator checking an
	// HS256 JWT sent as "Authorization: Bearer <jwt>": the stateless peer.
	JWTAuth Mode = "jwtauth"
	// PgxSelect is a bare handler that runs one indexed SELECT on the key's
	// SHA-256 through a pgx pool per request: the floor of any token
	// lookup in PostgreSQL, the peer of Postgres.
	PgxSelect Mode = "pgx-select"
	// Redis is tokenauth over redisstore, one HMGET per request.
	Redis Mode = "redis"
	// RedisCache is tokenauth over redisstore behind cachestore.
	RedisCache Mode = "redis-cache"
	// PostgresCacheMetrics and MemstoreCacheMetrics are PostgresCache and
	// MemstoreCache with otelauth's metrics on and no request traced, as
	// examples/production runs; PostgresCacheOtel and MemstoreCacheOtel
	// also trace every request (see withTelemetry). The cost of the
	// OpenTelemetry module, for A/B runs.
	PostgresCacheMetrics Mode = "postgres-cache-metrics"
	MemstoreCacheMetrics Mode = "memstore-cache-metrics"
	PostgresCacheOtel    Mode = "postgres-cache-otel"
	MemstoreCacheOtel    Mode = "memstore-cache-otel"
)

// Modes lists every mode. DefaultModes is the subset run.sh runs unless
// told otherwise.
var (
	Modes        = []Mode{Bare, Memstore, PostgresCache, Postgres, PgxSelect, SQLite, GinBare, Gin, EchoBare, EchoKeyAuth, JWTAuth, Redis, RedisCache, MemstoreCache, PostgresCacheMetrics, MemstoreCacheMetrics, PostgresCacheOtel, MemstoreCacheOtel}
	DefaultModes = Modes[:11]
)

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	if m := Mode(s); slices.Contains(Modes, m) {
		return m, nil
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("bench: unknown mode %q; want one of %s", s, strings.Join(names, ", "))
}

// Authenticates reports whether m's server refuses requests without a
// valid token.
func (m Mode) Authenticates() bool { return m != Bare && m != GinBare && m != EchoBare }

// Scheme is the Authorization scheme that m's clients send: "Bearer" for
// jwtauth, "Token" for every other mode.
func (m Mode) Scheme() string {
	if m == JWTAuth {
		return "Bearer"
	}
	return "Token"
}

// NoCredentialsStatus is the status m's server answers to a request
// without an Authorization header: 401, except echo's KeyAuth, which
// answers 400, and the servers that do not authenticate.
func (m Mode) NoCredentialsStatus() int {
	switch {
	case !m.Authenticates():
		return http.StatusOK
	case m == EchoKeyAuth:
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

// base is the mode m adds OpenTelemetry to, or m.
func (m Mode) base() Mode {
	switch m {
	case PostgresCacheMetrics, PostgresCacheOtel:
		return PostgresCache
	case MemstoreCacheMetrics, MemstoreCacheOtel:
		return MemstoreCache
	}
	return m
}

// usesPostgres and usesRedis tell which modes need a server.
func (m Mode) usesPostgres() bool {
	return m == Postgres || m.base() == PostgresCache || m == PgxSelect
}
func (m Mode) usesRedis() bool { return m == Redis || m == RedisCache }

// Config says which server to build and what to seed it with.
type Config struct {
	// Mode is the server to build.
	Mode Mode
	// Tokens is how many tokens to seed. Default 1000.
	Tokens int
	// Sample is how many of the seeded keys Server.Keys returns, spread
	// evenly over the seeding order, for the load generator. Default 1000,
	// at most Tokens.
	Sample int
	// PostgresDSN is a postgres:// URL, needed by the PostgreSQL modes.
	PostgresDSN string
	// RedisAddr is host:port of Redis, needed by the Redis modes.
	RedisAddr string
	// Namespace names what the mode owns in a shared server: its
	// PostgreSQL table, or its Redis keys' prefix. New drops that table or
	// those keys, then seeds them; Close drops them. Lowercase ASCII
	// letters, digits and underscores. Default "tokenauth_bench_" and the
	// mode with '-' as '_'.
	Namespace string
	// Dir holds the SQLite mode's database file. Default a new temporary
	// directory, removed by Close.
	Dir string
}

// Server is a built server: its handler and keys it accepts.
type Server struct {
	// Mode is the server's mode.
	Mode Mode
	// Handler answers Body on GET Path.
	Handler http.Handler
	// Keys are valid keys for Handler (well-formed, unknown ones for the
	// modes that do not authenticate), Config.Sample of them. Clients send
	// them in the Authorization header after Mode.Scheme().
	Keys []string

	closers []func() error
}

// Close releases what New acquired: database connections, the PostgreSQL
// table, the Redis keys and the SQLite directory it created.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Server) onClose(f func() error) { s.closers = append(s.closers, f) }

// dbPoolSize is the number of connections each server keeps to its
// database. database/sql keeps only two idle connections by default, so
// under load it would open and close connections all the time.
const dbPoolSize = 16

// New builds the server cfg describes and seeds it. Seeding 10⁶ tokens
// into a database takes a minute or two; ctx bounds it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Tokens == 0 {
		cfg.Tokens = 1000
	}
	if cfg.Sample == 0 {
		cfg.Sample = 1000
	}
	if cfg.Tokens < 1 || cfg.Sample < 1 {
		return nil, errors.New("bench: Tokens and Sample must be positive")
	}
	cfg.Sample = min(cfg.Sample, cfg.Tokens)
	if cfg.Namespace == "" {
		cfg.Namespace = "tokenauth_bench_" + strings.ReplaceAll(string(cfg.Mode), "-", "_")
	}
	if strings.Trim(cfg.Namespace, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return nil, fmt.Errorf("bench: Namespace %q: want lowercase ASCII letters, digits and underscores", cfg.Namespace)
	}
	s := &Server{Mode: cfg.Mode}
	var err error
	switch m := cfg.Mode; {
	case !m.Authenticates():
		s.Keys, err = seed(ctx, cfg.Sample, cfg.Sample, 1, func(context.Context, int) (string, error) {
			return newKey()
		})
		s.Handler = bareHandler(m)
	case m == EchoKeyAuth:
		s.Handler, s.Keys, err = echoKeyAuth(ctx, cfg)
	case m == JWTAuth:
		s.Handler, s.Keys, err = jwtAuth(ctx, cfg)
	case m == PgxSelect:
		err = s.buildPgxSelect(ctx, cfg)
	default:
		err = s.buildTokenauth(ctx, cfg)
	}
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func okGin(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) }

func okEcho(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", body) }

// bareHandler serves the modes without authentication.
func bareHandler(m Mode) http.Handler {
	switch m {
	case GinBare:
		r := newGin()
		r.GET(Path, okGin)
		return r
	case EchoBare:
		e := newEcho()
		e.GET(Path, okEcho)
		return e
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, okHandler)
	return mux
}

// newGin returns a gin engine without the default logger and recovery
// middleware, as the other servers have neither.
func newGin() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	return gin.New()
}

func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	return e
}

// buildTokenauth builds the modes that authenticate with tokenauth: it
// opens the store, seeds it through an Authenticator and serves Require.
func (s *Server) buildTokenauth(ctx context.Context, cfg Config) error {
	st, err := s.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	if err := s.seedTokenauth(ctx, cfg, st); err != nil {
		return err
	}
	store := st.serve
	var cache *cachestore.Store
	if b := cfg.Mode.base(); b == PostgresCache || b == RedisCache || b == MemstoreCache {
		// Set up as README's "Running many replicas" says: the cache
		// watches the store's revocations (LISTEN/NOTIFY, pub/sub).
		if cache, err = cachestore.New(store, cachestore.Options{}); err != nil {
			return err
		}
		s.onClose(cache.Close)
		store = cache
	}
	var opts tokenauth.Options
	var traced func(http.Handler) http.Handler
	if cfg.Mode != cfg.Mode.base() {
		if err = s.withTelemetry(&opts, cache, st.watchMode); err != nil {
			return err
		}
		if cfg.Mode == PostgresCacheOtel || cfg.Mode == MemstoreCacheOtel {
			traced = sampled
		}
	}
	a, err := tokenauth.New(store, opts)
	if err != nil {
		return err
	}
	// Closed first: the uses it has yet to write need the table.
	s.onClose(a.Close)
	if cfg.Mode == Gin {
		r := newGin()
		r.GET(Path, ginauth.Require(a), okGin)
		s.Handler = r
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, a.Require()(http.HandlerFunc(okHandler)))
	s.Handler = mux
	if traced != nil {
		s.Handler = traced(mux)
	}
	return nil
}

// seedTokenauth issues cfg.Tokens tokens into st and keeps a sample of
// their keys in s.Keys.
func (s *Server) seedTokenauth(ctx context.Context, cfg Config, st storeSetup) error {
	seeder, err := tokenauth.New(st.seed, tokenauth.Options{})
	if err != nil {
		return err
	}
	s.Keys, err = seed(ctx, cfg.Tokens, cfg.Sample, st.workers, func(ctx context.Context, i int) (string, error) {
		key, _, err := seeder.Issue(ctx, "user-"+strconv.Itoa(i), tokenauth.IssueOptions{})
		return key, err
	})
	if err != nil {
		return err
	}
	if st.afterSeed != nil {
		return st.afterSeed(ctx)
	}
	return nil
}

// storeSetup is a mode's store, the store to seed it through with the
// number of concurrent writers that suits it, and what to do once seeded.
type storeSetup struct {
	serve, seed tokenauth.Store
	workers     int
	afterSeed   func(context.Context) error
	table       string        // the PostgreSQL modes' table, quoted
	watchMode   func() string // sqlstore's, for the -otel modes
}

func (s *Server) openStore(ctx context.Context, cfg Config) (storeSetup, error) {
	switch m := cfg.Mode; {
	case m.usesPostgres():
		return s.openPostgres(ctx, cfg)
	case m.usesRedis():
		return s.openRedis(ctx, cfg)
	case m == SQLite:
		// One writer: SQLite serialises writes anyway.
		st, err := s.openSQLite(ctx, cfg)
		return storeSetup{serve: st, seed: st, workers: 1}, err
	}
	st := memstore.New()
	setup := storeSetup{serve: st, seed: st, workers: runtime.GOMAXPROCS(0)}
	if cfg.Mode.base() == MemstoreCache {
		setup.serve = watchedMemstore{st}
	}
	return setup, nil
}

// watchedMemstore is memstore as a cachestore.Watcher whose subscription
// confirms itself every second and never reports a change, as a store
// with events does while nothing is revoked: the cache then runs as it
// does over PostgreSQL or Redis. Revocations made through the cache still
// reach it, as the server is the only process.
type watchedMemstore struct{ *memstore.Store }

func (watchedMemstore) Watch(ctx context.Context, alive func(), _ func(tokenID, userID string)) error {
	alive()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			alive()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) openPostgres(ctx context.Context, cfg Config) (storeSetup, error) {
	if cfg.PostgresDSN == "" {
		return storeSetup{}, fmt.Errorf("bench: mode %s needs a PostgreSQL DSN", cfg.Mode)
	}
	if _, _, d, err := sqlstore.ParseDSN(cfg.PostgresDSN); err != nil || d != sqlstore.Postgres {
		return storeSetup{}, fmt.Errorf("bench: mode %s needs a postgres:// DSN", cfg.Mode)
	}
	opts := sqlstore.Options{Table: cfg.Namespace}
	if cfg.Mode.base() == PostgresCache {
		l, err := pglisten.New(cfg.PostgresDSN)
		if err != nil {
			return storeSetup{}, err
		}
		opts.Listener = l
	}
	db, store, err := sqlstore.Open(ctx, cfg.PostgresDSN, opts)
	if err != nil {
		return storeSetup{}, err
	}
	s.onClose(db.Close)
	db.SetMaxOpenConns(dbPoolSize)
	db.SetMaxIdleConns(dbPoolSize)
	// The name passed sqlstore's check: lowercase letters, digits and
	// underscores only.
	table := `"` + store.Table() + `"`
	// sqlstore keeps three tables beside the tokens' (see its doc): all
	// four are the mode's.
	drop := "DROP TABLE IF EXISTS " + table
	for _, suffix := range []string{"_revocations", "_cutoffs", "_imports"} {
		drop += `, "` + store.Table() + suffix + `"`
	}
	if _, err := db.ExecContext(ctx, drop); err != nil {
		return storeSetup{}, fmt.Errorf("bench: dropping the old tables: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		return storeSetup{}, err
	}
	s.onClose(func() error {
		_, err := db.ExecContext(context.Background(), drop)
		return err
	})

	// Seed through connections that do not wait for each commit to reach
	// the disk: seeding is setup, not what is measured.
	u, err := url.Parse(cfg.PostgresDSN)
	if err != nil {
		return storeSetup{}, errors.New("bench: malformed PostgreSQL DSN")
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	seedDB, seedStore, err := sqlstore.Open(ctx, u.String(), sqlstore.Options{Table: cfg.Namespace})
	if err != nil {
		return storeSetup{}, err
	}
	s.onClose(seedDB.Close) // on failure; idempotent
	workers := 4 * runtime.GOMAXPROCS(0)
	seedDB.SetMaxOpenConns(workers)
	seedDB.SetMaxIdleConns(workers)
	return storeSetup{
		serve:     store,
		seed:      seedStore,
		workers:   workers,
		table:     table,
		watchMode: store.WatchMode,
		// Vacuum and analyse, so that the measured queries meet the table
		// as one in service would be, not in autovacuum's way.
		afterSeed: func(ctx context.Context) error {
			defer seedDB.Close()
			if _, err := db.ExecContext(ctx, "VACUUM ANALYZE "+table); err != nil {
				return fmt.Errorf("bench: vacuuming the table: %w", err)
			}
			return nil
		},
	}, nil
}

func (s *Server) openSQLite(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tokenauth-bench-"); err != nil {
			return nil, err
		}
		s.onClose(func() error { return os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "tokens.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	// WAL with synchronous=NORMAL, the usual setting for a server:
	// commits do not wait for the disk, and the database stays consistent.
	db, store, err := sqlstore.Open(ctx, "sqlite:"+path+"?_pragma=synchronous(NORMAL)", sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	s.onClose(db.Close)
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return store, store.Migrate(ctx)
}

func (s *Server) openRedis(ctx context.Context, cfg Config) (storeSetup, error) {
	if cfg.RedisAddr == "" {
		return storeSetup{}, fmt.Errorf("bench: mode %s needs a Redis address", cfg.Mode)
	}
	// Deadlines honoured, as redisstore requires: StoreTimeout bounds each call.
	client := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: dbPoolSize, ContextTimeoutEnabled: true})
	s.onClose(client.Close)
	prefix := "{" + cfg.Namespace + "}:"
	purge := func(ctx context.Context) error {
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				if err := client.Unlink(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			return client.Unlink(ctx, batch...).Err()
		}
		return nil
	}
	if err := purge(ctx); err != nil {
		return storeSetup{}, fmt.Errorf("bench: clearing old keys: %w", err)
	}
	s.onClose(func() error { return purge(context.Background()) })
	store, err := redisstore.New(client, redisstore.Options{Prefix: prefix})
	if err != nil {
		return storeSetup{}, err
	}
	return storeSetup{serve: store, seed: store, workers: 4 * runtime.GOMAXPROCS(0)}, nil
}

// seed calls issue n times on workers goroutines and returns sample of
// the keys it returned, spread evenly over i.
func seed(ctx context.Context, n, sample, workers int, issue func(ctx context.Context, i int) (string, error)) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stride := max(1, n/sample)
	keys := make([]string, sample)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				key, err := issue(ctx, i)
				if err != nil {
					cancel(fmt.Errorf("bench: seeding token %d: %w", i, err))
					return
				}
				if i%stride == 0 && i/stride < sample {
					keys[i/stride] = key
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return keys, nil
}
