// Command chi is a chi service with token authentication: a login
// endpoint, a protected and a public route, logout and logout-all, tokens
// in a SQLite file (chi.db). chi speaks net/http, so tokenauth's own
// middleware is chi middleware; chiauth mounts the logout endpoints. It
// prints a token for the demo user alice (password "password") and curl
// lines to try:
//
//	go run ./examples/chi     # in the tokenauth repository
//	go run .                  # in a copy of this folder
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "chi.db", "SQLite `file` of tokens, created on first start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chi:", err)
		os.Exit(1)
	}
}

// run serves until ctx is canceled, then lets requests in flight finish.
func run(ctx context.Context, addr, dbPath string, out io.Writer) error {
	app, err := newApp(ctx, dbPath)
	if err != nil {
		return err
	}
	defer app.db.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	key, _, err := app.auth.Issue(ctx, alice.ID, tokenauth.IssueOptions{Name: "demo", TTL: 24 * time.Hour})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, `alice's token (password "password"): %s
  curl -H "Authorization: Token %[1]s" %[2]s/api/protected/
  curl -d username=alice -d password=password %[2]s/api-token-auth/
Listening on %[2]s
`, key, base)

	srv := &http.Server{Handler: app.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second}
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

// app holds the database, the Authenticator and the login endpoint.
type app struct {
	db    *sql.DB
	auth  *tokenauth.Authenticator
	login http.Handler
}

func newApp(ctx context.Context, dbPath string) (_ *app, err error) {
	db, tokens, err := sqlstore.Open(ctx, "sqlite:"+dbPath, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := tokens.Migrate(ctx); err != nil {
		return nil, err
	}
	auth, err := tokenauth.New(tokens, tokenauth.Options{UserLoader: loadUser})
	if err != nil {
		return nil, err
	}
	lh, err := login.New(auth, login.CredentialCheckerFunc(checkCredentials), login.Options{})
	if err != nil {
		return nil, err
	}
	return &app{db: db, auth: auth, login: lh}, nil
}

// routes maps the API. Every /api/ route but the public one is in a
// sub-router whose middleware requires a token. chi runs that middleware
// for every request routed there, before it looks for the route's
// method, so a request without a token gets 401 where a wrong method
// would get 405, as DRF checks the token before it dispatches.
func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Logger, middleware.Recoverer)
	r.Handle("/api-token-auth/", a.login)
	r.With(a.auth.Optional).Get("/api/public/", public)
	r.Route("/api", func(r chi.Router) {
		r.Use(a.auth.Require())
		r.Get("/protected/", protected)
		chiauth.Mount(r, a.auth, nil, chiauth.Paths{}) // /api/logout/ and /api/logoutall/
	})
	return r
}

// protected answers {"message":"ok","user":"alice"}.
func protected(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*user](r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "ok", "user": u.Username})
}

// public answers anyone. A bad token still gets 401, as in DRF.
func public(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "public"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// user is an account. A real service keeps its users in its database (see
// the quickstart's users table); this one has alice alone.
type user struct {
	ID, Username string
	hash         []byte
}

var alice = &user{ID: "1", Username: "alice", hash: mustHash("password")}

func mustHash(password string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
}

// checkCredentials is the login endpoint's CredentialChecker. It compares
// the password whatever the username, so that an unknown user takes as
// long as a wrong password.
func checkCredentials(_ context.Context, username, password string) (string, error) {
	ok := bcrypt.CompareHashAndPassword(alice.hash, []byte(password)) == nil
	if !ok || username != alice.Username {
		return "", login.ErrBadCredentials
	}
	return alice.ID, nil
}

// loadUser is the Authenticator's UserLoader. IDs are compared exactly:
// "01" or " 1" is not alice.
func loadUser(_ context.Context, userID string) (any, error) {
	if userID != alice.ID {
		return nil, tokenauth.ErrNotFound
	}
	return alice, nil
}
