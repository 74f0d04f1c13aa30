// Package chiauth wires tokenauth into a chi router. chi speaks net/http,
// so the core's middleware is chi middleware as it is, and handlers read
// the token with tokenauth.FromContext(r.Context()):
//
//	r := chi.NewRouter()
//	chiauth.Mount(r, auth, loginHandler, chiauth.Paths{})
//	r.Route("/api", func(r chi.Router) {
//		r.Use(auth.Require())                              // every route needs a token
//		r.Get("/items/{id}/", getItem)
//		r.With(auth.Require("admin")).Delete("/items/{id}/", deleteItem) // and a scope
//	})
//	r.With(auth.Optional).Get("/public/", public)
//
// This package adds only Mount, which registers the login and logout
// endpoints at the paths Django REST Framework and django-rest-knox users
// know.
package chiauth

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
)

// Paths sets the paths Mount registers. An empty path keeps its default.
type Paths struct {
	// Login is the path of the login handler. Default "/api-token-auth/".
	Login string
	// Logout revokes the presenting token. Default "/logout/".
	Logout string
	// LogoutAll revokes every token of the presenting token's user.
	// Default "/logoutall/".
	LogoutAll string
}

// Mount registers on r the login handler at p.Login, and a.LogoutHandler
// and a.LogoutAllHandler at p.Logout and p.LogoutAll. The routes take
// every method: the handlers accept POST and answer others with Django
// REST Framework's 405. A nil login registers the logout routes only.
func Mount(r chi.Router, a *tokenauth.Authenticator, login http.Handler, p Paths) {
	if login != nil {
		r.Handle(orDefault(p.Login, "/api-token-auth/"), login)
	}
	r.Handle(orDefault(p.Logout, "/logout/"), a.LogoutHandler())
	r.Handle(orDefault(p.LogoutAll, "/logoutall/"), a.LogoutAllHandler())
}

func orDefault(path, def string) string {
	if path == "" {
		return def
	}
	return path
}
