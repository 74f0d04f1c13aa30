// Command replica is one replica of a token-authenticated service (package
// ../../internal/service) over a shared store, with a cache in front of
// it, as a service runs on several machines. The replica suite builds it
// and runs two of them over one database:
//
//	replica -store redis -dsn 127.0.0.1:6379 -prefix app: -cache-ttl 1h
//	replica -store redis -dsn 127.0.0.1:7001,127.0.0.1:7002 -prefix app:   # a Redis Cluster
//	replica -store postgres -dsn postgres://... -table tokens -cache-ttl 1h
//
// It prints "listening on http://HOST:PORT" once it serves and, over a
// store that announces revocations (cachestore.Watcher), once its cache
// has subscribed. SIGINT or SIGTERM stops it. On PostgreSQL it listens
// for revocations through pglisten, connecting with -listen-dsn (default
// -dsn), so that a test can put a fault proxy on that connection alone.
//
// "replica revoke [flags] ID" deletes one token through the store alone,
// from a process of its own: an admin tool, for stores the tokenauth CLI
// does not administer (Redis).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

const (
	// watchWait bounds the wait for the cache's first subscription.
	watchWait = 15 * time.Second
	// maxConns bounds the connections to a SQL database.
	maxConns = 8
)

// storeFlags choose the shared store.
type storeFlags struct {
	kind, dsn, listenDSN, table, prefix string
	poll                                time.Duration
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.kind, "store", "", "the shared store: postgres, mysql, sqlite or redis")
	fs.StringVar(&s.dsn, "dsn", "", "the store's `DSN` as sqlstore.Open takes it, or Redis's host:port (several, comma-separated: a cluster)")
	fs.StringVar(&s.listenDSN, "listen-dsn", "", "the `DSN` pglisten connects with (PostgreSQL); default -dsn")
	fs.StringVar(&s.table, "table", sqlstore.DefaultTable, "the tokens `table` (SQL stores)")
	fs.StringVar(&s.prefix, "prefix", "tokenauth:", "the key `prefix` (Redis)")
	fs.DurationVar(&s.poll, "poll", 0, "how often the revocation log is read where it is polled (MySQL, SQLite, PostgreSQL without LISTEN); 0: sqlstore's default")
}

// open connects to the store; close releases its connections.
func (s *storeFlags) open(ctx context.Context) (store tokenauth.Store, close func() error, err error) {
	switch s.kind {
	case "redis":
		// ContextTimeoutEnabled: Redis calls honour StoreTimeout
		// (redisstore.New refuses a client without it). Several
		// addresses make a cluster client.
		client := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:                 strings.Split(s.dsn, ","),
			ContextTimeoutEnabled: true,
			IsClusterMode:         strings.Contains(s.dsn, ","),
		})
		rs, err := redisstore.New(client, redisstore.Options{Prefix: s.prefix})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return rs, client.Close, nil
	case "postgres", "mysql", "sqlite":
		opts := sqlstore.Options{Table: s.table, PollInterval: s.poll}
		if s.kind == "postgres" {
			// PostgreSQL notifies revocations; pglisten hears them.
			if opts.Listener, err = pglisten.New(cmp.Or(s.listenDSN, s.dsn)); err != nil {
				return nil, nil, err
			}
		}
		db, ss, err := sqlstore.Open(ctx, s.dsn, opts)
		if err != nil {
			return nil, nil, err
		}
		// A bounded pool, as a service sizes one: the test databases are
		// shared, and PostgreSQL refuses clients past max_connections.
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
		if err := ss.Migrate(ctx); err != nil {
			db.Close()
			return nil, nil, err
		}
		return ss, db.Close, nil
	}
	return nil, nil, fmt.Errorf("-store %q: want postgres, mysql, sqlite or redis", s.kind)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "revoke" {
		if err := revoke(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "replica revoke:", err)
			os.Exit(1)
		}
		return
	}
	var sf storeFlags
	sf.register(flag.CommandLine)
	addr := flag.String("addr", "127.0.0.1:0", "`address` to listen on")
	cacheTTL := flag.Duration("cache-ttl", time.Hour, "the cache's TTL; 0 turns the cache off")
	touch := flag.Duration("touch-interval", 0, "tokenauth.Options.TouchInterval; negative: uses are not recorded")
	checkDelay := flag.Duration("check-delay", 0, "how long each password check takes")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, sf, *addr, *cacheTTL, *touch, *checkDelay, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
}

// debugStats is what /debug/cache answers: the cache's counters, and how
// the store hears of revocations (sqlstore.Store.WatchMode; "" on Redis).
type debugStats struct {
	cachestore.Stats
	WatchMode string `json:",omitempty"`
}

// run serves until ctx ends.
func run(ctx context.Context, sf storeFlags, addr string, cacheTTL, touch, checkDelay time.Duration, out io.Writer) (err error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, closeStore, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	watchMode := func() string { return "" }
	if m, ok := store.(interface{ WatchMode() string }); ok {
		watchMode = m.WatchMode
	}
	var stats func() any
	subscribed := make(chan struct{})
	if _, ok := store.(cachestore.Watcher); !ok || cacheTTL <= 0 {
		close(subscribed) // nothing to wait for
	}
	if cacheTTL > 0 {
		first := true
		cache, err := cachestore.New(store, cachestore.Options{
			TTL:    cacheTTL,
			Logger: logger,
			// Called from one goroutine: first needs no lock.
			OnWatch: func(watching bool, _ error) {
				if watching && first {
					first = false
					close(subscribed)
				}
			},
		})
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, cache.Close()) }()
		stats = func() any { return debugStats{Stats: cache.Stats(), WatchMode: watchMode()} }
		store = cache
	}

	auth, err := tokenauth.New(store, tokenauth.Options{TouchInterval: touch, Logger: logger})
	if err != nil {
		return err
	}
	// Uses not yet written are written before the store closes.
	defer func() { err = errors.Join(err, auth.Close()) }()
	// Every login token is kept (MaxTokensPerUser -1): only the
	// revocations a test makes remove one.
	lh, err := login.New(auth, service.Checker(checkDelay), login.Options{Limiter: login.NoLimit, MaxTokensPerUser: -1, Logger: logger})
	if err != nil {
		return err
	}

	select {
	case <-subscribed:
	case <-time.After(watchWait):
		return fmt.Errorf("the cache did not subscribe to the store's revocations within %s", watchWait)
	case <-ctx.Done():
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: service.Routes(auth, lh, stats), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// revoke deletes the token named by the one argument.
func revoke(args []string) (err error) {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one token ID")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, closeStore, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	return store.Delete(ctx, fs.Arg(0))
}
