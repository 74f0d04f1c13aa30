// Command custom serves, on tokenauth, the API of a Django service with a
// token scheme of its own (tokenauth's seed 001), so that its clients keep
// working unchanged:
//
//	POST /custom_login/    username and password, as a form or JSON
//	                       → {"token": "…", "expiry": "…"}, or 401 {"error": "Invalid credentials"}
//	GET  /protected_view/  Authorization: <key>, the key alone, no keyword
//	                       → {"message": "Welcome, you are authenticated!"}
//	                       no key → 401 {"error": "Token missing"}
//	                       a bad key → 401 {"error": "Invalid token"}
//
// The Django service kept UUID keys in a CustomToken table. Imported into
// tokenauth's table (Authenticator.Import, or the CLI), they keep working
// beside the keys tokenauth issues to new logins, which live 30 days, 10
// per user at most. Tokens live in a SQLite file (custom.db); the demo
// user is admin, password admin:
//
//	go run ./examples/custom     # in the tokenauth repository
//	go run .                     # in a copy of this folder
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

	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "custom.db", "SQLite `file` of tokens, created on first start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom:", err)
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
	fmt.Fprintf(out, `Log in as admin (password "admin"), then send the token alone:
  curl -d username=admin -d password=admin %[1]s/custom_login/
  curl -H "Authorization: <token>" %[1]s/protected_view/
Listening on %[1]s
`, base)

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
	auth, err := tokenauth.New(tokens, tokenauth.Options{
		RawHeader:      true, // "Authorization: <key>"; "Token <key>" still works
		AcceptUUIDKeys: true, // the keys imported from CustomToken
		UserLoader:     loadUser,
		ErrorHandler:   writeAuthError,
	})
	if err != nil {
		return nil, err
	}
	// Login tokens live 30 days; a user keeps the 10 newest.
	lh, err := login.New(auth, login.CredentialCheckerFunc(checkCredentials), login.Options{TTL: 30 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return &app{db: db, auth: auth, login: refusedAs("Invalid credentials", lh)}, nil
}

// routes maps the API. The token is checked before the method, as DRF
// checks it before it dispatches.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/custom_login/", a.login)
	mux.Handle("/protected_view/", a.auth.Require()(allow(http.MethodGet, http.HandlerFunc(protectedView))))
	return mux
}

func protectedView(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "Welcome, you are authenticated!"})
}

// writeAuthError is the Authenticator's ErrorHandler: the Django service's
// two answers, and 503 during a store outage (Retry-After is set for it).
func writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := tokenauth.Classify(err)
	msg := "Invalid token"
	switch {
	case errors.Is(err, tokenauth.ErrNoCredentials):
		msg = "Token missing"
	case status != http.StatusUnauthorized:
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// refusedAs serves login, tokenauth's login endpoint, with the Django
// service's refusal: where login answers DRF's 400 (a wrong password, a
// field missing or blank, a body it cannot read), the client gets 401
// {"error": msg}, as the service's view answered every login it could not
// authenticate. Its other answers pass unchanged: the token, DRF's 405,
// and 429 when failed logins are throttled, which the service did not do.
func refusedAs(msg string, login http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		login.ServeHTTP(&refusalWriter{ResponseWriter: w, msg: msg}, r)
	})
}

// refusalWriter replaces a 400 answer, keeping its headers (Cache-Control:
// no-store) and dropping its body.
type refusalWriter struct {
	http.ResponseWriter
	msg     string
	refused bool
}

func (w *refusalWriter) WriteHeader(status int) {
	if status != http.StatusBadRequest {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.refused = true
	writeJSON(w.ResponseWriter, http.StatusUnauthorized, map[string]string{"error": w.msg})
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil // DRF's body, replaced
	}
	return w.ResponseWriter.Write(b)
}

func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// allow answers other methods than method with DRF's 405.
func allow(method string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v as DRF's JSONRenderer does: compact, no newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// user is an account. A real service keeps its users in its database (see
// the quickstart's users table); this one has admin alone, with the
// Django service's user ID.
type user struct {
	ID, Username string
	hash         []byte
}

var admin = &user{ID: "1", Username: "admin", hash: mustHash("admin")}

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
func checkCredentials(_ context.Context, username, password string) (login.Grant, error) {
	ok := bcrypt.CompareHashAndPassword(admin.hash, []byte(password)) == nil
	if !ok || username != admin.Username {
		return login.Grant{}, login.ErrBadCredentials
	}
	return login.Grant{UserID: admin.ID}, nil
}

// loadUser is the Authenticator's UserLoader. IDs are compared exactly:
// "01" or " 1" is not admin.
func loadUser(_ context.Context, userID string) (any, error) {
	if userID != admin.ID {
		return nil, tokenauth.ErrNotFound
	}
	return admin, nil
}
