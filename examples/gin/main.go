// Command gin is the quickstart's service written with gin: the same
// routes, answers, demo users, flags and SQLite default (gin.db), with
// ginauth's middleware in front of gin handlers:
//
//	go run ./examples/gin
//
// gin runs in release mode unless GIN_MODE says otherwise. The router is
// gin.New(), not gin.Default(): the shared host side in
// ../internal/demoapp already logs each request once with log/slog, never
// with its token, and leaves panics to net/http's server, as the
// quickstart does.
package main

import (
	"context"
	"io"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

func main() {
	// Debug mode prints every route on start and warnings on each run.
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	demoapp.Main(run)
}

// run is the whole program, for tests: it serves until ctx is canceled.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := demoapp.ParseFlags("gin", args, stdout)
	if err != nil {
		return err
	}
	return demoapp.Run(ctx, cfg, stdout, routes)
}

// routes maps the API. The login, logout and sign-up handlers answer
// other methods themselves (405 with DRF's body), so they take Any method.
func routes(app *demoapp.App) http.Handler {
	a := app.Auth
	r := gin.New()
	r.Any("/api-token-auth/", ginauth.Login(app.Login))

	api := r.Group("/api")
	api.Any("/signup/", gin.WrapH(app.SignupHandler()))
	api.GET("/public/", ginauth.Optional(a), public)

	user := api.Group("", ginauth.Require(a))
	user.GET("/protected/", protected)
	user.Any("/logout/", ginauth.Logout(a))
	user.Any("/logoutall/", ginauth.LogoutAll(a))
	return r
}

// protected answers {"message":"ok","user":"alice"}; Require has loaded
// the user, through demoapp's UserLoader, which refuses inactive users.
func protected(c *gin.Context) {
	u, _ := ginauth.User[*demoapp.User](c)
	c.JSON(http.StatusOK, demoapp.Protected(u))
}

// public answers anyone; a request with a valid token also learns whose it
// is, and one with a bad token gets 401, as in DRF.
func public(c *gin.Context) {
	u, _ := ginauth.User[*demoapp.User](c)
	c.JSON(http.StatusOK, demoapp.Public(u))
}
