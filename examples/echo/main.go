// Command echo is the quickstart's service written with echo v4: the same
// routes, answers, demo users, flags and SQLite default (echo.db), with
// echoauth's middleware in front of echo handlers:
//
//	go run ./examples/echo
//
// The shared host side in ../internal/demoapp serves the echo.Echo with its
// own http.Server, so echo's banner (printed by Echo.Start) never shows,
// and logs each request once with log/slog, never with its token: no echo
// logger middleware is added.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/go-tokenauth/tokenauth/adapters/echoauth"
	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

func main() { demoapp.Main(run) }

// run is the whole program, for tests: it serves until ctx is canceled.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := demoapp.ParseFlags("echo", args, stdout)
	if err != nil {
		return err
	}
	return demoapp.Run(ctx, cfg, stdout, routes)
}

// routes maps the API. The login, logout and sign-up handlers answer
// other methods themselves (405 with DRF's body), so they take Any method.
// The middleware is set per route: on an echo Group, it would also run
// for unknown paths under the group's prefix, turning their 404 into 401.
func routes(app *demoapp.App) http.Handler {
	a := app.Auth
	e := echo.New()
	e.Any("/api-token-auth/", echoauth.Login(app.Login))

	api := e.Group("/api")
	api.Any("/signup/", echo.WrapHandler(app.SignupHandler()))
	api.GET("/public/", public, echoauth.Optional(a))
	api.GET("/protected/", protected, echoauth.Require(a))
	api.Any("/logout/", echoauth.Logout(a), echoauth.Require(a))
	api.Any("/logoutall/", echoauth.LogoutAll(a), echoauth.Require(a))
	return e
}

// protected answers {"message":"ok","user":"alice"}; Require has loaded
// the user, through demoapp's UserLoader, which refuses inactive users.
func protected(c echo.Context) error {
	u, _ := echoauth.User[*demoapp.User](c)
	return c.JSON(http.StatusOK, demoapp.Protected(u))
}

// public answers anyone; a request with a valid token also learns whose it
// is, and one with a bad token gets 401, as in DRF.
func public(c echo.Context) error {
	u, _ := echoauth.User[*demoapp.User](c)
	return c.JSON(http.StatusOK, demoapp.Public(u))
}
