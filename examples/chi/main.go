// Command chi is the quickstart's service written with chi: the same
// routes, answers, demo users, flags and SQLite default (chi.db). chi
// speaks net/http, so the handlers are the quickstart's and tokenauth's own
// middleware guards them, grouped by chiauth's route helpers:
//
//	go run ./examples/chi
//
// The shared host side in ../internal/demoapp logs each request once with
// log/slog, never with its token, so chi's middleware.Logger is not used.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

func main() { demoapp.Main(run) }

// run is the whole program, for tests: it serves until ctx is canceled.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := demoapp.ParseFlags("chi", args, stdout)
	if err != nil {
		return err
	}
	return demoapp.Run(ctx, cfg, stdout, routes)
}

// routes maps the API. chiauth.Mount registers the logout routes (under
// /api, at their default paths /logout/ and /logoutall/) for every
// method, as the login and sign-up routes are: those handlers answer other
// methods themselves (405 with DRF's body).
func routes(app *demoapp.App) http.Handler {
	a := app.Auth
	r := chi.NewRouter()
	r.Handle("/api-token-auth/", app.Login)
	r.Route("/api", func(r chi.Router) {
		chiauth.Mount(r, a, nil, chiauth.Options{})
		r.Handle("/signup/", app.SignupHandler())
		chiauth.Protected(r, a, func(r chi.Router) {
			r.Get("/protected/", protected)
		})
		chiauth.Optional(r, a, func(r chi.Router) {
			r.Get("/public/", public)
		})
	})
	return r
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
