// Command echo is an echo (v4) service with token authentication through
// tokenauth's echoauth adapter: a login endpoint, a protected, an
// admin-only and a public route, logout, logout-all and logout-others,
// tokens in a SQLite file (echo.db). The demo users are alice and admin, an
// administrator, both with the password "password". It prints a token for
// alice and curl lines to try:
//
//	go run ./examples/echo    # in the tokenauth repository
//	go run .                  # in a copy of this folder
package main

import (
	"context"
	"database/sql"
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

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echoauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "echo.db", "SQLite `file` of tokens, created on first start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
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
	key, _, err := app.auth.Issue(ctx, users[0].ID, tokenauth.IssueOptions{Name: "demo", TTL: 24 * time.Hour})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, `alice's token (password "password"): %s
  curl -H "Authorization: Token %[1]s" %[2]s/api/protected/
  curl -d username=admin -d password=password %[2]s/api-token-auth/
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
	// Login tokens live 30 days; a user keeps the 10 newest.
	lh, err := login.New(auth, login.CredentialCheckerFunc(checkCredentials), login.Options{TTL: 30 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return &app{db: db, auth: auth, login: lh}, nil
}

// routes maps the API. On a group, echoauth.Require checks the token of
// every request under /api, as DRF checks it before it dispatches: a
// request without one gets 401 where a wrong method would get echo's 405
// (with an Allow header) or an unknown path echo's 404. The public route
// is the server's, outside the group. The server is an http.Server of
// run's, so echo's banner never shows.
func (a *app) routes() http.Handler {
	e := echo.New()
	e.Use(middleware.RequestLogger(), middleware.Recover())
	e.Any("/api-token-auth/", echo.WrapHandler(a.login)) // answers other methods with DRF's 405
	e.GET("/api/public/", public, echoauth.Optional(a.auth))

	api := e.Group("/api", echoauth.Require(a.auth))
	api.GET("/protected/", protected)
	api.GET("/admin/", admin, echoauth.Require(a.auth, "admin"))
	api.POST("/logout/", echo.WrapHandler(a.auth.LogoutHandler()))
	api.POST("/logoutall/", echo.WrapHandler(a.auth.LogoutAllHandler()))
	api.POST("/logout-others/", echo.WrapHandler(a.auth.LogoutOthersHandler()))
	return e
}

// protected answers {"message":"ok","user":"alice"}.
func protected(c echo.Context) error {
	u, _ := echoauth.User[*user](c)
	return c.JSON(http.StatusOK, echo.Map{"message": "ok", "user": u.Username})
}

// admin answers tokens with the scope "admin", which logins of
// administrators carry (checkCredentials): {"users":["alice","admin"]}.
func admin(c echo.Context) error {
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	return c.JSON(http.StatusOK, echo.Map{"users": names})
}

// public answers anyone. A bad token still gets 401, as in DRF.
func public(c echo.Context) error {
	return c.JSON(http.StatusOK, echo.Map{"message": "public"})
}

// user is an account. A real service keeps its users in its database (see
// the quickstart's users table); this one has two, in memory.
type user struct {
	ID, Username string
	Admin        bool // logins get the scope "admin"
	hash         []byte
}

var users = []*user{
	{ID: "1", Username: "alice", hash: mustHash("password")},
	{ID: "2", Username: "admin", Admin: true, hash: mustHash("password")},
}

// dummyHash is compared with when no user has the name given, so that an
// unknown user takes as long as a wrong password.
var dummyHash = mustHash("no such user")

func mustHash(password string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
}

// checkCredentials is the login endpoint's CredentialChecker: the token it
// grants carries the scope "admin" for administrators.
func checkCredentials(_ context.Context, username, password string) (login.Grant, error) {
	var found *user
	hash := dummyHash
	for _, u := range users {
		if u.Username == username {
			found, hash = u, u.hash
		}
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || found == nil {
		return login.Grant{}, login.ErrBadCredentials
	}
	g := login.Grant{UserID: found.ID}
	if found.Admin {
		g.Scopes = []string{"admin"}
	}
	return g, nil
}

// loadUser is the Authenticator's UserLoader. IDs are compared exactly:
// "01" or " 1" is not alice.
func loadUser(_ context.Context, userID string) (any, error) {
	for _, u := range users {
		if u.ID == userID {
			return u, nil
		}
	}
	return nil, tokenauth.ErrNotFound
}
