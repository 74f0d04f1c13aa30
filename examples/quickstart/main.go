// Command quickstart is a complete net/http service with token
// authentication, the Go version of Django REST Framework's token
// tutorial. Users (bcrypt hashes) and tokens live in one SQLite file,
// created on first start with the demo users alice (active), bob
// (inactive) and admin (an administrator); each start prints new tokens
// for alice and bob and curl lines to try:
//
//	go run ./examples/quickstart     # in the tokenauth repository
//	go run .                         # in a copy of this folder
//
// Beside the login, logout and password endpoints it serves what a
// service in production adds: a page of the user's own tokens, where
// personal access tokens are made; an admin-only route; RFC 7662
// introspection and RFC 7009 revocation for gateways and other services;
// and GitHub's secret scanning reports, which revoke leaked tokens. Tokens
// are digested with HMAC under a server key kept beside the database.
//
// The folder stands alone: copy it into a module of your own, run
// go mod tidy, and it builds.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/secretscan"
	"github.com/go-tokenauth/tokenauth/selfservice"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

// config is the command line.
type config struct {
	addr          string
	db            string // the SQLite file; the server key is kept beside it
	githubKeysURL string // where GitHub lists the keys that sign its reports
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8000", "`address` to listen on")
	flag.StringVar(&cfg.db, "db", "quickstart.db", "SQLite `file` of users and tokens, created on first start; the server key is kept beside it, in NAME.key")
	flag.StringVar(&cfg.githubKeysURL, "github-keys-url", secretscan.DefaultKeysURL, "`URL` of the keys GitHub signs secret scanning reports with")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run serves until ctx is canceled, then lets requests in flight finish.
func run(ctx context.Context, cfg config, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(out, nil))
	app, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.db.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	keys, err := app.demo(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, `Demo users, password %q:
  alice: %s
  bob (inactive): %s
  admin (scope "admin"): logs in at /api-token-auth/
Introspection callers, at /o/introspect/ and /o/revoke/:
  client "gateway", secret %s
  a token with the scope "introspect": %s
Try:
  curl -H "Authorization: Token %[2]s" %[6]s/api/protected/
  curl -d username=admin -d password=password %[6]s/api-token-auth/
  curl -u gateway:%[4]s -d token=%[2]s %[6]s/o/introspect/
  curl -X POST -H "Authorization: Token %[2]s" %[6]s/api/logout/
Listening on %[6]s
`, demoPassword, keys.alice, keys.bob, app.gatewaySecret, keys.introspect, base)

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

// tokenTTL is the lifetime of the tokens a login, a sign-up or a password
// change issues: a token outlives no device by more than a month.
const tokenTTL = 30 * 24 * time.Hour

// app is the service: its database, users, Authenticator and endpoints.
type app struct {
	db            *sql.DB
	users         *users
	auth          *tokenauth.Authenticator
	login         http.Handler
	tokens        http.Handler // the user's own tokens
	introspection *introspection.Server
	secretScan    http.Handler
	gatewaySecret string // the introspection client's, new at each start
	logger        *slog.Logger
}

func newApp(ctx context.Context, cfg config, logger *slog.Logger) (_ *app, err error) {
	key, err := serverKey(strings.TrimSuffix(cfg.db, filepath.Ext(cfg.db)) + ".key")
	if err != nil {
		return nil, err
	}
	hasher, err := tokenauth.NewHMAC(key)
	if err != nil {
		return nil, err
	}
	db, tokens, err := sqlstore.Open(ctx, "sqlite:"+cfg.db, sqlstore.Options{})
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
	auth, err := tokenauth.New(tokens, tokenauth.Options{Hasher: hasher, UserLoader: u.load, Logger: logger})
	if err != nil {
		return nil, err
	}
	// The login endpoint throttles failed logins, and keeps a user's 10
	// newest login tokens, by default.
	lh, err := login.New(auth, u, login.Options{TTL: tokenTTL, Logger: logger})
	if err != nil {
		return nil, err
	}
	a := &app{db: db, users: u, auth: auth, login: lh, gatewaySecret: rand.Text(), logger: logger}
	// Users list and revoke their tokens, and make personal access tokens
	// for scripts, living a year at most.
	a.tokens, err = selfservice.New(auth, selfservice.Options{MaxTTL: 365 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	a.introspection, err = introspection.New(auth, introspection.Options{
		Clients:  introspection.StaticClients(map[string]string{"gateway": a.gatewaySecret}),
		Username: username,
		Logger:   logger,
	})
	if err != nil {
		return nil, err
	}
	a.secretScan, err = secretscan.New(auth, secretscan.Options{KeysURL: cfg.githubKeysURL, OnLeak: a.leaked, Logger: logger})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// serverKey returns the HMAC key kept in path, creating it on first start:
// 32 random bytes, in hex, readable by their owner alone. Tokens then carry
// a checksum keyed with it, so keys forged without it are refused before
// the database is asked, and a copy of the database is no use without it.
// Keep it out of the database's backups; lose it, and every token is void.
func serverKey(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, err = fmt.Fprintf(f, "%x\n", key)
		return key, errors.Join(err, f.Close())
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(key) < 32 {
		// Never the decoder's error: it quotes the key.
		return nil, fmt.Errorf("%s: want a server key of 64 hex digits", path)
	}
	return key, nil
}

// routes maps the API. Every path under /api/ needs a valid token unless a
// more specific pattern makes it public: as with DRF's
// DEFAULT_PERMISSION_CLASSES = [IsAuthenticated], a request without one
// gets 401 before any 404 or 405. Introspection and secret scanning
// authenticate their callers themselves.
func (a *app) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/protected/", a.protected)
	api.Handle("GET /api/admin/", a.auth.Require("admin")(http.HandlerFunc(a.admin)))
	api.HandleFunc("POST /api/password/", a.changePassword)
	// These answer a wrong method themselves, with DRF's 405.
	api.Handle("/api/logout/", a.auth.LogoutHandler())
	api.Handle("/api/logoutall/", a.auth.LogoutAllHandler())
	api.Handle("/api/logout-others/", a.auth.LogoutOthersHandler())
	api.Handle("/api/tokens/", http.StripPrefix("/api/tokens", a.tokens))

	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", a.login)
	mux.HandleFunc("POST /api/signup/", a.signup)
	mux.Handle("GET /api/public/", a.auth.Optional()(http.HandlerFunc(public)))
	mux.Handle("/api/", a.auth.Require()(api))
	mux.Handle("/o/introspect/", a.introspection.IntrospectionHandler())
	mux.Handle("/o/revoke/", a.introspection.RevocationHandler())
	mux.Handle("/github/secret-scanning/", a.secretScan)
	return mux
}

// protected answers {"message":"ok","user":"alice"}.
func (a *app) protected(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*user](r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "ok", "user": u.Username})
}

// admin lists the users: {"users":["alice","bob","admin","gateway"]}. Only
// tokens with the scope "admin" reach it, which logins of administrators
// carry (users.CheckCredentials).
func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	names, err := a.users.usernames(r.Context())
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"users": names})
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
	u, err := a.users.create(r.Context(), user{Username: username, Active: true}, password)
	if errors.Is(err, errUsernameTaken) {
		writeJSON(w, http.StatusBadRequest, fieldErrors{"username": {"A user with that username already exists."}})
		return
	}
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	key, _, err := a.auth.Issue(r.Context(), u.ID, tokenauth.IssueOptions{Name: "signup", TTL: tokenTTL})
	if err != nil {
		a.auth.Error(w, r, err) // 503 with Retry-After
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": key, "user": u.Username})
}

// changePassword takes old_password and new_password, sets the new one,
// and revokes the user's sessions (a stolen one included, and the token of
// any login whose password check was under way) but this one, which just
// proved the old password, and the user's personal access tokens, which
// scripts hold: 200 {"revoked": n}. A user who fears a token leaked
// revokes it on the tokens page, or all of them at /api/logoutall/.
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
	current, _ := tokenauth.FromContext(r.Context())
	n, err := a.auth.RevokeSessions(r.Context(), u.ID, current)
	if err != nil {
		a.auth.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

// username names the user of an introspected token, for the "username"
// member of the answer.
func username(_ context.Context, p tokenauth.Principal) (string, error) {
	if u, ok := p.User.(*user); ok {
		return u.Username, nil
	}
	return "", nil
}

// leaked hears of each token that GitHub found in public and that the
// secret scanning endpoint revoked. A real service would queue an email to
// the user; this one logs who it was and where, never the token.
func (a *app) leaked(_ context.Context, l secretscan.Leak) {
	var where []string
	for _, f := range l.Found {
		where = append(where, f.URL)
	}
	a.logger.Warn("a token leaked and was revoked", "user_id", l.Token.UserID, "token_id", l.Token.ID, "token_name", l.Token.Name, "found_at", where)
}

// unavailable logs a failure of the users table and answers 503 with
// Retry-After, never the error's text.
func (a *app) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.Error("users table", "error", err)
	a.auth.Error(w, r, fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err))
}

// demoPassword is the demo users' password.
const demoPassword = "password"

// demoKeys are the tokens each start issues and prints.
type demoKeys struct {
	alice, bob string
	introspect string // the service user gateway's, with the scope "introspect"
}

// demo creates the demo users on first start and issues tokens that
// expire in a day: the database keeps only digests, so a token cannot be
// shown again later. The admin gets none here: it logs in, and its login
// carries the scope "admin".
func (a *app) demo(ctx context.Context) (demoKeys, error) {
	ids := map[string]string{}
	for _, d := range []struct {
		u        user
		password string
	}{
		{user{Username: "alice", Active: true}, demoPassword},
		{user{Username: "bob"}, demoPassword},
		{user{Username: "admin", Active: true, Admin: true}, demoPassword},
		// A service account, for the introspection token; nobody knows its
		// password, so it cannot log in.
		{user{Username: "gateway", Active: true}, rand.Text()},
	} {
		u, err := a.users.create(ctx, d.u, d.password)
		if errors.Is(err, errUsernameTaken) {
			u, err = a.users.byUsername(ctx, d.u.Username)
		}
		if err != nil {
			return demoKeys{}, err
		}
		ids[u.Username] = u.ID
	}
	var err error
	issue := func(username string, scopes ...string) (key string) {
		if err == nil {
			key, _, err = a.auth.Issue(ctx, ids[username], tokenauth.IssueOptions{Name: "demo", Scopes: scopes, TTL: 24 * time.Hour})
		}
		return key
	}
	keys := demoKeys{alice: issue("alice"), bob: issue("bob"), introspect: issue("gateway", "introspect")}
	return keys, err
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
