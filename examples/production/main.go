// Command production is a token-authenticated service shaped for
// production: run as many replicas as you like over one shared store
// (PostgreSQL, MySQL or Redis), each with a cache in front of it that hears
// every revocation at once, Prometheus metrics, a health check and a
// graceful shutdown.
//
//	export TOKENAUTH_HMAC_KEY=$(openssl rand -hex 32)   # the same on every replica
//	go run ./examples/production -store postgres -dsn postgres://app@db/app -addr :8001
//	go run ./examples/production -store mysql -dsn mysql://app:secret@db/app
//	go run ./examples/production -store redis -dsn 10.0.0.1:6379,10.0.0.2:6379   # a Redis Cluster
//
// It serves the quickstart's demo users (alice, bob who is inactive, and
// admin, all with the password "password") and routes: login at
// /api-token-auth/, GET /api/protected/, GET /api/admin/ (scope "admin"),
// /api/logout/ and /api/logoutall/; and /healthz and /metrics.
//
// The folder stands alone: copy it into a module of your own, run
// go mod tidy, and it builds.
package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql" // mysql:// DSNs
	_ "github.com/jackc/pgx/v5/stdlib" // postgres:// DSNs
	"github.com/redis/go-redis/v9"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"
)

// config is the command line, and the HMAC key from the environment.
type config struct {
	store, dsn, addr string
	table            string // SQL stores
	prefix           string // Redis
	hmacKey          string // hex
}

func main() {
	var cfg config
	flag.StringVar(&cfg.store, "store", "", "the shared `store`: postgres, mysql or redis")
	flag.StringVar(&cfg.dsn, "dsn", "", "the store's `DSN`: postgres://… or mysql://…, or Redis's host:port, several comma-separated for a Redis Cluster (default $TOKENAUTH_DSN)")
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8000", "`address` to listen on")
	flag.StringVar(&cfg.table, "table", sqlstore.DefaultTable, "the tokens `table` (PostgreSQL, MySQL)")
	flag.StringVar(&cfg.prefix, "prefix", redisstore.DefaultPrefix, "the key `prefix` (Redis)")
	flag.Parse()
	// Not the flag's default, which -h would print: a DSN may hold a
	// password.
	cfg.dsn = cmp.Or(cfg.dsn, os.Getenv("TOKENAUTH_DSN"))
	// From the environment only: a flag shows in ps and the shell's history.
	cfg.hmacKey = os.Getenv("TOKENAUTH_HMAC_KEY")

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx is canceled, then lets requests in flight finish
// and releases everything in order.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return errors.Join(err, a.close())
	}
	srv := &http.Server{
		Handler:           logRequests(logger, a.routes()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	shutdown := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(sctx)
	}()
	logger.Info("listening", "url", "http://"+ln.Addr().String(), "store", cfg.store)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(err, a.close())
	}
	// Requests have finished (or Shutdown gave up after 10 s): now the
	// Authenticator writes the token uses it queued, before the cache
	// and the store close.
	return errors.Join(<-shutdown, a.close())
}

// tokenTTL is the lifetime of login tokens: a token outlives no device by
// more than a month.
const tokenTTL = 30 * 24 * time.Hour

// app is the service: the shared store, the cache in front of it, the
// Authenticator and the endpoints.
type app struct {
	shared  *shared
	cache   *cachestore.Store
	auth    *tokenauth.Authenticator
	login   http.Handler
	metrics http.Handler
	logger  *slog.Logger
	// closers release what newService opened, run in reverse order by
	// close.
	closers []func() error
}

func newApp(ctx context.Context, cfg config, logger *slog.Logger) (_ *app, err error) {
	// Every replica digests tokens with the same key, or tokens issued
	// by one are refused by the others.
	key, err := hex.DecodeString(cfg.hmacKey)
	if err != nil || len(key) < 32 {
		// Never the decoder's error: it quotes the key.
		return nil, errors.New("set TOKENAUTH_HMAC_KEY to at least 32 bytes in hex, the same on every replica: openssl rand -hex 32")
	}
	hasher, err := tokenauth.NewHMAC(key)
	if err != nil {
		return nil, err
	}
	sh, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	return newService(sh, hasher, logger)
}

// newService builds the service over sh; on error it closes sh.
func newService(sh *shared, hasher tokenauth.Hasher, logger *slog.Logger) (_ *app, err error) {
	a := &app{shared: sh, logger: logger, closers: []func() error{sh.close}}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.close())
		}
	}()
	// The cache answers most checks from memory, and drops a token as
	// soon as the store says any replica revoked it.
	if a.cache, err = cachestore.New(sh.store, cachestore.Options{Logger: logger}); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.cache.Close)
	tel, err := newTelemetry(a.cache, sh.watchMode)
	if err != nil {
		return nil, err
	}
	a.metrics = tel.handler
	a.closers = append(a.closers, tel.close)
	a.auth, err = tokenauth.New(a.cache, tokenauth.Options{
		Hasher:      hasher,
		UserLoader:  loadUser,
		Logger:      logger,
		OnCheck:     tel.auth.OnCheck,
		OnStoreCall: tel.auth.OnStoreCall,
	})
	if err != nil {
		return nil, err
	}
	// Close writes the token uses still queued, through the cache, so it
	// runs first.
	a.closers = append(a.closers, a.auth.Close)
	// Failed logins are throttled per replica: with n replicas behind a
	// balancer an attacker gets up to n times the budget.
	a.login, err = login.New(a.auth, login.CredentialCheckerFunc(checkCredentials), login.Options{
		TTL:     tokenTTL,
		Logger:  logger,
		OnLogin: tel.auth.OnLogin,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// close releases everything newService opened, newest first: the
// Authenticator's queued writes, the metrics, the cache's subscription,
// then the store's connections.
func (a *app) close() error {
	var errs []error
	for _, c := range slices.Backward(a.closers) {
		errs = append(errs, c())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// shared is the store every replica shares, with what /healthz asks of it.
type shared struct {
	store tokenauth.Store // a cachestore.Watcher
	// ping checks that the store answers.
	ping func(context.Context) error
	// watchMode says how a SQL store hears of revocations: "listen"
	// (PostgreSQL's NOTIFY) or "poll" (the revocation log, read 4 times a
	// second). Nil on Redis, which always uses pub/sub.
	watchMode func() string
	close     func() error
}

// openStore connects to the store cfg names and checks that it answers.
func openStore(ctx context.Context, cfg config, logger *slog.Logger) (*shared, error) {
	if cfg.dsn == "" {
		// go-redis would try localhost.
		return nil, errors.New("set -dsn or TOKENAUTH_DSN")
	}
	switch cfg.store {
	case "redis":
		// ContextTimeoutEnabled makes every call end at the
		// Authenticator's StoreTimeout (redisstore.New refuses a client
		// without it). Several addresses are a cluster's nodes.
		var client redis.UniversalClient
		if addrs := strings.Split(cfg.dsn, ","); len(addrs) > 1 {
			client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
		} else {
			client = redis.NewClient(&redis.Options{Addr: cfg.dsn, ContextTimeoutEnabled: true})
		}
		store, err := redisstore.New(client, redisstore.Options{Prefix: cfg.prefix})
		if err == nil {
			err = client.Ping(ctx).Err()
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("redis: %w", err), client.Close())
		}
		return &shared{
			store: store,
			ping:  func(ctx context.Context) error { return client.Ping(ctx).Err() },
			close: client.Close,
		}, nil
	case "postgres", "mysql":
		// The DSN's form picks the database; it must be the one named.
		if _, _, d, err := sqlstore.ParseDSN(cfg.dsn); err != nil || d.String() != cfg.store {
			return nil, fmt.Errorf("-dsn: want a %s DSN, as sqlstore.ParseDSN reads them", cfg.store)
		}
		opts := sqlstore.Options{Table: cfg.table, Logger: logger}
		if cfg.store == "postgres" {
			// Revocations arrive by LISTEN within milliseconds, not
			// at the next poll; where LISTEN cannot deliver (PgBouncer
			// in transaction mode) the store polls, and says so.
			l, err := pglisten.New(cfg.dsn)
			if err != nil {
				return nil, err
			}
			opts.Listener = l
		}
		db, store, err := sqlstore.Open(ctx, cfg.dsn, opts)
		if err != nil {
			return nil, err
		}
		// Every replica's pool counts against the database's connection
		// limit: bound it.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		// Idempotent and safe from several replicas starting at once;
		// services with a migration tool apply sqlstore.Schema instead.
		if err := store.Migrate(ctx); err != nil {
			return nil, errors.Join(err, db.Close())
		}
		return &shared{store: store, ping: db.PingContext, watchMode: store.WatchMode, close: db.Close}, nil
	}
	return nil, fmt.Errorf("-store %q: want postgres, mysql or redis", cfg.store)
}

// routes maps the API. Every path under /api/ needs a valid token unless a
// more specific pattern makes it public, as with DRF's
// DEFAULT_PERMISSION_CLASSES = [IsAuthenticated]. /healthz and /metrics
// answer anyone: keep them off the public side of your load balancer.
func (a *app) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/protected/", protected)
	api.Handle("GET /api/admin/", a.auth.Require("admin")(http.HandlerFunc(admin)))
	// These answer a wrong method themselves, with DRF's 405.
	api.Handle("/api/logout/", a.auth.LogoutHandler())
	api.Handle("/api/logoutall/", a.auth.LogoutAllHandler())

	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", a.login)
	mux.Handle("/api/", a.auth.Require()(api))
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET /metrics", a.metrics)
	return mux
}

// protected answers {"message":"ok","user":"alice"}.
func protected(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*user](r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "ok", "user": u.Username})
}

// admin lists the users, to tokens with the scope "admin", which logins
// of administrators carry.
func admin(w http.ResponseWriter, r *http.Request) {
	names := []string{}
	for _, u := range demoUsers {
		names = append(names, u.Username)
	}
	writeJSON(w, http.StatusOK, map[string][]string{"users": names})
}

// health is what /healthz answers.
type health struct {
	Status      string `json:"status"` // "ok" or "unavailable"
	Store       string `json:"store"`  // "up" or "down"
	Revocations struct {
		// Watching: the cache hears revocations now. Until it does (at
		// start, after a break) every check reads the store.
		Watching   bool   `json:"watching"`
		Mode       string `json:"mode,omitempty"` // SQL stores: "listen" or "poll"
		Reconnects uint64 `json:"reconnects"`
	} `json:"revocations"`
}

// healthz answers 200 when the store answers within a second and the
// cache hears its revocations, and 503 otherwise. It is a readiness
// probe, not a liveness one: restarting a replica mends neither a
// database outage nor a broken channel.
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	h := health{Status: "ok", Store: "up"}
	if err := a.shared.ping(ctx); err != nil {
		// Logged, never answered: an error's text may name hosts.
		a.logger.Warn("healthz: the store does not answer", "error", err)
		h.Status, h.Store = "unavailable", "down"
	}
	st := a.cache.Stats()
	h.Revocations.Watching, h.Revocations.Reconnects = st.Watching, st.Reconnects
	if a.shared.watchMode != nil {
		h.Revocations.Mode = a.shared.watchMode()
	}
	status := http.StatusOK
	if !st.Watching {
		h.Status = "unavailable"
	}
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, h)
}

// writeJSON writes v as DRF's JSONRenderer does: compact, no newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// logRequests logs one line per request: method, path, status, duration.
// Never headers, the query string or bodies, where tokens and passwords
// travel.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
