// Command drf serves, on tokenauth, the API of a Django REST Framework
// service (the DRF half of tokenauth's seed 001): DRF's TokenAuthentication
// and a login view of the service's own, so that its clients keep working
// unchanged:
//
//	POST /api/login/      {"username": "…", "password": "…"}, as JSON or a form
//	                      → {"token": "…", "expiry": "…"}, or 401 {"error": "Invalid Credentials"}
//	GET  /api/protected/  Authorization: Token <key>
//	                      → {"message": "You have access to this protected endpoint."}
//
// Where DRF's Token.objects.get_or_create hands every login the one key
// it stores, each login here gets a new key: tokenauth stores only
// digests, so it cannot hand an old key back. A user keeps the 10 newest
// login tokens, each for 30 days. Tokens live in a SQLite file (drf.db);
// the demo user is alice, password "password":
//
//	go run ./examples/drf     # in the tokenauth repository
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

	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "drf.db", "SQLite `file` of tokens, created on first start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "drf:", err)
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
	fmt.Fprintf(out, `Log in as alice (password "password"), then send the token:
  curl -H "Content-Type: application/json" -d '{"username": "alice", "password": "password"}' %[1]s/api/login/
  curl -H "Authorization: Token <token>" %[1]s/api/protected/
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
	// DRF's defaults: "Authorization: Token <key>" and DRF's error bodies.
	auth, err := tokenauth.New(tokens, tokenauth.Options{UserLoader: loadUser})
	if err != nil {
		return nil, err
	}
	// Login tokens live 30 days; a user keeps the 10 newest, and an
	// eleventh login revokes the oldest (login.Options.MaxTokensPerUser).
	lh, err := login.New(auth, login.CredentialCheckerFunc(checkCredentials), login.Options{TTL: 30 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return &app{db: db, auth: auth, login: refusedAs("Invalid Credentials", lh)}, nil
}

// routes maps the API. Every /api/ path but the login needs a token, as
// with DRF's DEFAULT_PERMISSION_CLASSES = [IsAuthenticated]: a request
// without one gets 401 before any 404 or 405.
func (a *app) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/protected/", protected)

	mux := http.NewServeMux()
	mux.Handle("/api/login/", a.login)
	mux.Handle("/api/", a.auth.Require()(api))
	return mux
}

func protected(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "You have access to this protected endpoint."})
}

// refusedAs serves login, tokenauth's login endpoint, with the service's
// refusal: where login answers DRF's 400 (a wrong password, a field
// missing or blank, a body it cannot read), the client gets 401
// {"error": msg}, as the service's view answered every login that
// authenticate() refused. Its other answers pass unchanged: the token,
// DRF's 405, and 429 when failed logins are throttled.
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

// writeJSON writes v as DRF's JSONRenderer does: compact, no newline.
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
func checkCredentials(_ context.Context, username, password string) (login.Grant, error) {
	ok := bcrypt.CompareHashAndPassword(alice.hash, []byte(password)) == nil
	if !ok || username != alice.Username {
		return login.Grant{}, login.ErrBadCredentials
	}
	return login.Grant{UserID: alice.ID}, nil
}

// loadUser is the Authenticator's UserLoader. IDs are compared exactly:
// "01" or " 1" is not alice.
func loadUser(_ context.Context, userID string) (any, error) {
	if userID != alice.ID {
		return nil, tokenauth.ErrNotFound
	}
	return alice, nil
}
