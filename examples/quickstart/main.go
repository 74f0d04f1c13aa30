// Command quickstart is a complete net/http service with token
// authentication, the Go version of Django REST Framework's tutorial. It
// keeps its users and tokens in a SQLite file (quickstart.db) that it
// creates on first start, with the demo users alice (active) and bob
// (inactive), whose tokens it prints once along with curl lines to try:
//
//	go run ./examples/quickstart
//
// -db also takes postgres://… and mysql://… DSNs, -cache puts a cache in
// front of the database, and -login-limit sets the login throttle; see
// -h. The host side (users table, bcrypt, flags, logging, shutdown) is in
// ../internal/demoapp; this file is the routing.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

func main() { demoapp.Main(run) }

// run is the whole program, for tests: it serves until ctx is canceled.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := demoapp.ParseFlags("quickstart", args, stdout)
	if err != nil {
		return err
	}
	return demoapp.Run(ctx, cfg, stdout, routes)
}

// routes maps the API. The login, logout and sign-up handlers answer
// other methods themselves (405 with DRF's body), so their patterns name
// no method.
func routes(app *demoapp.App) http.Handler {
	a := app.Auth
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", app.Login)
	mux.Handle("/api/logout/", a.Require(a.LogoutHandler()))
	mux.Handle("/api/logoutall/", a.Require(a.LogoutAllHandler()))
	mux.Handle("/api/signup/", app.SignupHandler())
	mux.Handle("GET /api/protected/", a.Require(http.HandlerFunc(protected)))
	mux.Handle("GET /api/public/", a.Optional(http.HandlerFunc(public)))
	return mux
}

// protected answers {"message":"ok","user":"alice"}; Require has loaded
// the user, through demoapp's UserLoader, which refuses inactive users.
func protected(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*demoapp.User](r.Context())
	tokenauth.WriteJSON(w, http.StatusOK, demoapp.Protected(u))
}

// public answers anyone; a request with a valid token also learns whose it
// is, and one with a bad token gets 401, as in DRF.
func public(w http.ResponseWriter, r *http.Request) {
	u, _ := tokenauth.UserFromContext[*demoapp.User](r.Context())
	tokenauth.WriteJSON(w, http.StatusOK, demoapp.Public(u))
}
