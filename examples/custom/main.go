// Command custom serves, on tokenauth, the API of a Django service with a
// token scheme of its own (tokenauth's seed 001), so that its clients keep
// working unchanged:
//
//	POST /custom_login/    username and password, as a form or JSON
//	                       → {"token": "…"}, or 401 {"error": "Invalid credentials"}
//	GET  /protected_view/  Authorization: <key>, the key alone, no keyword
//	                       → {"message": "Welcome, you are authenticated!"}
//	                       no key → 401 {"error": "Token missing"}
//	                       a bad key → 401 {"error": "Invalid token"}
//
// The Django service kept UUID keys in a CustomToken table. Imported into
// tokenauth's table (Authenticator.Import, or the CLI), they keep working
// beside the keys tokenauth issues to new logins. Tokens live in a SQLite
// file (custom.db); the demo user is admin, password admin:
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
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
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

// app holds the database, the Authenticator and the login throttle.
type app struct {
	db      *sql.DB
	auth    *tokenauth.Authenticator
	limiter login.Limiter
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
	limiter, err := login.NewMemoryLimiter(login.MemoryLimiterOptions{})
	if err != nil {
		return nil, err
	}
	return &app{db: db, auth: auth, limiter: limiter}, nil
}

// routes maps the API. The token is checked before the method, as DRF
// checks it before it dispatches.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/custom_login/", a.login)
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

// login trades a username and password for a new token. Failed attempts
// are throttled per client address and username (429), which the Django
// service did not do.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	username, password, ok := readCredentials(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	key := login.LimitKey{Addr: host, Username: login.FoldUsername(username)}
	if wait, ok := a.limiter.Allow(ctx, key); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many attempts"})
		return
	}
	userID, ok := checkCredentials(username, password)
	if !ok {
		a.limiter.Done(ctx, key, login.Failed)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid credentials"})
		return
	}
	a.limiter.Done(ctx, key, login.Succeeded)
	token, _, err := a.auth.Issue(ctx, userID, tokenauth.IssueOptions{Name: "login"})
	if err != nil {
		a.auth.Error(w, r, err) // 503 with Retry-After
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

// readCredentials reads username and password from a JSON object or a
// form, as DRF's request.data does; a field missing is "". It answers a
// body it cannot parse with 400 and returns false.
func readCredentials(w http.ResponseWriter, r *http.Request) (username, password string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var v struct{ Username, Password any }
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "JSON parse error"})
			return "", "", false
		}
		username, _ = v.Username.(string)
		password, _ = v.Password.(string)
		return username, password, true
	}
	if err := r.ParseMultipartForm(16 << 10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "Malformed request."})
		return "", "", false
	}
	return r.PostFormValue("username"), r.PostFormValue("password"), true
}

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

// checkCredentials compares the password whatever the username, so that
// an unknown user takes as long as a wrong password.
func checkCredentials(username, password string) (string, bool) {
	ok := bcrypt.CompareHashAndPassword(admin.hash, []byte(password)) == nil
	return admin.ID, ok && username == admin.Username
}

// loadUser is the Authenticator's UserLoader. IDs are compared exactly:
// "01" or " 1" is not admin.
func loadUser(_ context.Context, userID string) (any, error) {
	if userID != admin.ID {
		return nil, tokenauth.ErrNotFound
	}
	return admin, nil
}
