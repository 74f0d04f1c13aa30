// Command gin is a gin service with token authentication through
// tokenauth's ginauth adapter: a login endpoint, a protected, an
// admin-only and a public route, logout, logout-all and logout-others,
// tokens in a SQLite file (gin.db). The demo users are alice and admin, an
// administrator, both with the password "password". It prints a token for
// alice and curl lines to try:
//
//	go run ./examples/gin     # in the tokenauth repository
//	go run .                  # in a copy of this folder
//
// gin runs in release mode unless GIN_MODE says otherwise.
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

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	_ "modernc.org/sqlite" // the SQLite driver sqlstore opens "sqlite:" DSNs with
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "`address` to listen on")
	db := flag.String("db", "gin.db", "SQLite `file` of tokens, created on first start")
	flag.Parse()
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode) // debug mode lists every route on start
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gin:", err)
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

// routes maps the API. ginauth.Group checks the token of every request
// under /api before gin routes it, as DRF checks it before it dispatches:
// a request without one gets 401 where a wrong method would get gin's 405
// (with an Allow header) or an unknown path gin's 404. The public route is
// the engine's, outside the group.
func (a *app) routes() http.Handler {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	r.Any("/api-token-auth/", gin.WrapH(a.login)) // answers other methods with DRF's 405
	r.GET("/api/public/", ginauth.Optional(a.auth), public)

	api := ginauth.Group(r, "/api", a.auth)
	api.GET("/protected/", protected)
	api.GET("/admin/", ginauth.Require(a.auth, "admin"), admin)
	api.POST("/logout/", gin.WrapH(a.auth.LogoutHandler()))
	api.POST("/logoutall/", gin.WrapH(a.auth.LogoutAllHandler()))
	api.POST("/logout-others/", gin.WrapH(a.auth.LogoutOthersHandler()))
	return r
}

// protected answers {"message":"ok","user":"alice"}.
func protected(c *gin.Context) {
	u, _ := ginauth.User[*user](c)
	c.JSON(http.StatusOK, gin.H{"message": "ok", "user": u.Username})
}

// admin answers tokens with the scope "admin", which logins of
// administrators carry (checkCredentials): {"users":["alice","admin"]}.
func admin(c *gin.Context) {
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	c.JSON(http.StatusOK, gin.H{"users": names})
}

// public answers anyone. A bad token still gets 401, as in DRF.
func public(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "public"})
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
