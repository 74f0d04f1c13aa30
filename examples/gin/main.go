// Command gin is a gin service with token authentication through
// tokenauth's ginauth adapter: a login endpoint, a protected and a public
// route, logout and logout-all, tokens in a SQLite file (gin.db). It
// prints a token for the demo user alice (password "password") and curl
// lines to try:
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
	"slices"
	"strings"
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

// routes maps the API. Every /api/ route but the public one is in a group
// that requires a token, and takes any method: the token is checked first,
// as DRF checks it before it dispatches on the method, so a request
// without one gets 401 where a wrong method would get 405.
func (a *app) routes() http.Handler {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	r.Any("/api-token-auth/", gin.WrapH(a.login))
	r.GET("/api/public/", ginauth.Optional(a.auth), public)

	api := r.Group("/api", ginauth.Require(a.auth))
	api.Any("/protected/", allow(http.MethodGet), protected)
	api.Any("/logout/", gin.WrapH(a.auth.LogoutHandler()))
	api.Any("/logoutall/", gin.WrapH(a.auth.LogoutAllHandler()))
	return r
}

// protected answers {"message":"ok","user":"alice"}.
func protected(c *gin.Context) {
	u, _ := ginauth.User[*user](c)
	c.JSON(http.StatusOK, gin.H{"message": "ok", "user": u.Username})
}

// public answers anyone. A bad token still gets 401, as in DRF.
func public(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "public"})
}

// allow answers other methods with DRF's 405.
func allow(methods ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !slices.Contains(methods, c.Request.Method) {
			c.Header("Allow", strings.Join(methods, ", "))
			c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"detail": `Method "` + c.Request.Method + `" not allowed.`})
		}
	}
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
