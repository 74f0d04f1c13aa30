// Command quickstart is a complete net/http service with token
// authentication, the Go version of Django REST Framework's token
// tutorial. Users (bcrypt hashes) and tokens live in one SQLite file,
// created on first start with the demo users alice (active) and bob
// (inactive); each start prints new tokens for them and curl lines to try:
//
//	go run ./examples/quickstart     # in the tokenauth repository
//	go run .                         # in a copy of this folder
//
// The folder stands alone: copy it into a module of your own, run
// go mod tidy, and it builds.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
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

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "quickstart.db", "SQLite `file` of users and tokens, created on first start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run serves until ctx is canceled, then lets requests in flight finish.
func run(ctx context.Context, addr, dbPath string, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(out, nil))
	app, err := newApp(ctx, dbPath, logger)
	if err != nil {
		return err
	}
	defer app.db.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	alice, bob, err := app.demo(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, `Demo users, password %q:
  alice: %s
  bob (inactive): %s
Try:
  curl -H "Authorization: Token %[2]s" %[4]s/api/protected/
  curl -d username=alice -d password=password %[4]s/api-token-auth/
  curl -X POST -H "Authorization: Token %[2]s" %[4]s/api/logout/
Listening on %[4]s
`, demoPassword, alice, bob, base)

	srv := &http.Server{
		Handler:           logRequests(logger, app.routes()),
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
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Write the token uses not yet written, before the database closes.
	return errors.Join(<-shutdown, app.auth.Close())
}

// app is the service: its database, users, Authenticator and login
// endpoint.
type app struct {
	db     *sql.DB
	users  *users
	auth   *tokenauth.Authenticator
	login  http.Handler
	logger *slog.Logger
}

func newApp(ctx context.Context, dbPath string, logger *slog.Logger) (_ *app, err error) {
	db, tokens, err := sqlstore.Open(ctx, "sqlite:"+dbPath, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	u := &users{db: db}
	if err := errors.Join(tokens.Migrate(ctx), u.migrate(ctx)); err != nil {
		return nil, err
	}
	// users.load gives handlers the *user; it refuses inactive users.
	auth, err := tokenauth.New(tokens, tokenauth.Options{UserLoader: u.load, Logger: logger})
	if err != nil {
		return nil, err
	}
	// The login endpoint throttles failed logins by default.
	lh, err := login.New(auth, u, login.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	return &app{db: db, users: u, auth: auth, login: lh, logger: logger}, nil
}

// routes maps the API. Every path under /api/ needs a valid token unless a
// more specific pattern makes it public: as with DRF's
// DEFAULT_PERMISSION_CLASSES = [IsAuthenticated], a request without one
// gets 401 before any 404 or 405.
func (a *app) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/protected/", a.protected)
	api.HandleFunc("POST /api/password/", a.changePassword)
	// These answer a wrong method themselves, with DRF's 405.
	api.Handle("/api/logout/", a.auth.LogoutHandler())
	api.Handle("/api/logoutall/", a.auth.LogoutAllHandler())
	api.Handle("/api/logout-others/", a.auth.LogoutOthersHandler())

	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", a.login)
	mux.HandleFunc("POST /api/signup/", a.signup)
	mux.Handle("GET /api/public/", a.auth.Optional(http.HandlerFunc(public)))
	mux.Handle("/api/", a.auth.Require()(api))
	return mux
}

// protected answers {"message":"ok","user":"alice"}.
func (a *app) protected(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*user](r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "ok", "user": u.Username})
}

// public answers anyone. A bad token still gets 401, as in DRF: Optional
// lets only requests without credentials through anonymously.
func public(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "public"})
}

// signup creates an active user and issues its first token, what a DRF
// service does in a post_save signal: 201 {"token": "…", "user": "carol"}.
// A public service would also throttle it, as login.Options.Limiter does
// logins: each sign-up costs a bcrypt hash.
func (a *app) signup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	f, ok := readFields(w, r)
	if !ok {
		return
	}
	username, password := strings.TrimSpace(f["username"]), f["password"]
	if errs := validate(username, password); errs != nil {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	u, err := a.users.create(r.Context(), username, password, true)
	if errors.Is(err, errUsernameTaken) {
		writeJSON(w, http.StatusBadRequest, fieldErrors{"username": {"A user with that username already exists."}})
		return
	}
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	key, _, err := a.auth.Issue(r.Context(), u.ID, tokenauth.IssueOptions{Name: "signup"})
	if err != nil {
		a.auth.Error(w, r, err) // 503 with Retry-After
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": key, "user": u.Username})
}

// changePassword takes old_password and new_password, sets the new one,
// revokes every token of the user (a stolen one included) and answers
// with a new token for this client: 200 {"token": "…"}.
func (a *app) changePassword(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	u, _ := tokenauth.UserFromContext[*user](r.Context())
	f, ok := readFields(w, r)
	if !ok {
		return
	}
	if !u.checkPassword(f["old_password"]) {
		writeJSON(w, http.StatusBadRequest, fieldErrors{"old_password": {"Your old password was entered incorrectly."}})
		return
	}
	if errs := validate(u.Username, f["new_password"]); errs != nil {
		writeJSON(w, http.StatusBadRequest, fieldErrors{"new_password": errs["password"]})
		return
	}
	if err := a.users.setPassword(r.Context(), u.ID, f["new_password"]); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if _, err := a.auth.RevokeAll(r.Context(), u.ID); err != nil {
		a.auth.Error(w, r, err)
		return
	}
	key, _, err := a.auth.Issue(r.Context(), u.ID, tokenauth.IssueOptions{Name: "login"})
	if err != nil {
		a.auth.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": key})
}

// unavailable logs a failure of the users table and answers 503 with
// Retry-After, never the error's text.
func (a *app) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.Error("users table", "error", err)
	a.auth.Error(w, r, fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err))
}

// demoPassword is the demo users' password.
const demoPassword = "password"

// demo creates the demo users on first start and issues each a token that
// expires in a day: the database keeps only digests, so a token cannot be
// shown again later.
func (a *app) demo(ctx context.Context) (alice, bob string, err error) {
	keys := make([]string, 2)
	for i, d := range []struct {
		name   string
		active bool
	}{{"alice", true}, {"bob", false}} {
		u, err := a.users.create(ctx, d.name, demoPassword, d.active)
		if errors.Is(err, errUsernameTaken) {
			u, err = a.users.byUsername(ctx, d.name)
		}
		if err != nil {
			return "", "", err
		}
		keys[i], _, err = a.auth.Issue(ctx, u.ID, tokenauth.IssueOptions{Name: "demo", TTL: 24 * time.Hour})
		if err != nil {
			return "", "", err
		}
	}
	return keys[0], keys[1], nil
}

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
