// Package demoapp is the host side shared by the example servers of this
// repository: what a real service already has before it adds token
// authentication (a users table with bcrypt hashes, a database, logging,
// a command line, graceful shutdown), wired to tokenauth. Each example's
// main.go keeps only what differs between frameworks: its routes.
//
//	func run(ctx context.Context, args []string, stdout io.Writer) error {
//		cfg, err := demoapp.ParseFlags("quickstart", args, stdout)
//		if err != nil {
//			return err
//		}
//		return demoapp.Run(ctx, cfg, stdout, routes)
//	}
//
//	func main() { demoapp.Main(run) }
//
// Every example serves the same routes with the same answers:
//
//	POST /api-token-auth/  login: username + password → {"token": "…"}   (App.Login)
//	POST /api/logout/      revokes the presenting token → 204           (Auth.LogoutHandler)
//	POST /api/logoutall/   revokes every token of its user → 204        (Auth.LogoutAllHandler)
//	GET  /api/protected/   token required → {"message":"ok","user":"alice"}     (Protected)
//	GET  /api/public/      token optional → {"message":"public"}                (Public)
//	POST /api/signup/      creates a user and its first token → 201     (App.SignupHandler)
package demoapp

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"

	// The drivers of the DSN forms -db accepts.
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// App is an example server's host side: its database, users,
// Authenticator and login endpoint. Create one with Open (Run does).
type App struct {
	// Config is the configuration the App was opened with.
	Config Config
	// Logger is the server's structured logger.
	Logger *slog.Logger
	// Auth checks and issues tokens; its UserLoader is Users.Load, so
	// handlers behind Auth.Require find a *User with
	// tokenauth.UserFromContext.
	Auth *tokenauth.Authenticator
	// Users is the users table.
	Users *Users
	// Login is the login endpoint, throttled as Config.LoginLimit says.
	Login *login.Handler

	db           *sql.DB
	signupLimits login.Limiter
}

// connectTimeout bounds connecting to the database.
const connectTimeout = 15 * time.Second

// Open connects to cfg.DB, creates the tokens and users tables if they do
// not exist, and wires the Authenticator and the login endpoint. Close the
// App when done.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	_, _, dialect, err := sqlstore.ParseDSN(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	// A database server that does not answer must not hang the start.
	octx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	db, tokens, err := sqlstore.Open(octx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("opening the database given by -db: %w", err)
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()

	if err := tokens.Migrate(ctx); err != nil {
		return nil, err
	}
	users, err := NewUsers(db, dialect, "")
	if err != nil {
		return nil, err
	}
	if err := users.Migrate(ctx); err != nil {
		return nil, err
	}

	var store tokenauth.Store = tokens
	if cfg.Cache > 0 {
		if store, err = tokenauth.NewCache(tokens, tokenauth.CacheOptions{TTL: cfg.Cache}); err != nil {
			return nil, fmt.Errorf("-cache: %w", err)
		}
	}
	opts := tokenauth.Options{UserLoader: users.Load, Logger: logger}
	if cfg.HMACKey != nil {
		if opts.Hasher, err = tokenauth.NewHMAC(cfg.HMACKey); err != nil {
			return nil, fmt.Errorf("-hmac-key: %w", err)
		}
	}
	auth, err := tokenauth.New(store, opts)
	if err != nil {
		return nil, err
	}

	loginLimits, signupLimits := login.NoLimit, login.NoLimit
	if n := cfg.LoginLimit; n > 0 {
		// Per address, all usernames together, allow ten times the
		// per-username limit: a few users behind one NAT still get in.
		if loginLimits, err = login.NewMemoryLimiter(login.MemoryLimiterOptions{MaxFailures: n, MaxAddrFailures: max(10*n, 50)}); err != nil {
			return nil, err
		}
		// Sign-ups are counted per address alone, each one as an attempt.
		if signupLimits, err = login.NewMemoryLimiter(login.MemoryLimiterOptions{MaxFailures: n, MaxAddrFailures: n}); err != nil {
			return nil, err
		}
	}
	loginHandler, err := login.New(auth, users, login.Options{Limiter: loginLimits, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &App{
		Config:       cfg,
		Logger:       logger,
		Auth:         auth,
		Users:        users,
		Login:        loginHandler,
		db:           db,
		signupLimits: signupLimits,
	}, nil
}

// Close closes the database.
func (a *App) Close() error { return a.db.Close() }

// Message is the body of the protected and public routes.
type Message struct {
	Message string `json:"message"`
	// User is the authenticated user's name; empty for an anonymous
	// request to the public route.
	User string `json:"user,omitempty"`
}

// Protected returns the body of GET /api/protected/ for the authenticated
// user u.
func Protected(u *User) Message { return message("ok", u) }

// Public returns the body of GET /api/public/: u is the authenticated
// user, or nil for an anonymous request.
func Public(u *User) Message { return message("public", u) }

func message(msg string, u *User) Message {
	m := Message{Message: msg}
	if u != nil {
		m.User = u.Username
	}
	return m
}

// Main runs an example server's run function with the command-line
// arguments, standard output and a context canceled by SIGINT or SIGTERM,
// then exits: 0 on success or -h, 2 for a bad command line, 1 otherwise.
func Main(run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, ErrUsage):
		os.Exit(2) // ParseFlags has printed the problem and the usage
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds how long Run waits for requests in flight once its
// context is canceled.
const shutdownTimeout = 10 * time.Second

// Run is the life of an example server: it listens on cfg.Addr, opens the
// App, creates the demo users on first start and prints their tokens and
// the curl lines to try, then serves routes(app), logging each request,
// until ctx is canceled, when it shuts down gracefully. Banner and logs go
// to out.
func Run(ctx context.Context, cfg Config, out io.Writer, routes func(*App) http.Handler) error {
	logger := slog.New(slog.NewTextHandler(out, nil))
	// Listen first: a taken port fails fast, before the database is
	// touched or a token is printed.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%w; pass a free address with -addr", err)
	}
	defer ln.Close()

	app, err := Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	var created []demoToken
	if cfg.DemoUsers {
		if created, err = app.seed(ctx); err != nil {
			return err
		}
	}

	srv := &http.Server{
		Handler:           logRequests(logger, routes(app)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	printBanner(out, baseURL(ln.Addr()), cfg.DemoUsers, created)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", slog.Duration("timeout", shutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// baseURL is the URL clients on this machine reach addr at.
func baseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := "127.0.0.1"
	if !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// logRequests logs one line per request: method, path, status, duration
// and the client's address. It never logs headers, the query string or
// bodies, where tokens and passwords travel.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr))
	})
}

// statusRecorder remembers the status a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 { // 1xx responses are not the final status
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
