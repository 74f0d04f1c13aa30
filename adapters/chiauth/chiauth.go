// Package chiauth wires tokenauth into a chi router. chi speaks net/http,
// so the core's middleware is chi middleware as it is, and handlers read
// the token with tokenauth.FromContext(r.Context()):
//
//	r := chi.NewRouter()
//	chiauth.Mount(r, auth, loginHandler, chiauth.Paths{})
//	r.Route("/api", func(r chi.Router) {
//		r.Use(auth.Require())                              // every path under /api needs a token
//		r.Get("/items/{id}/", getItem)
//		r.With(auth.Require("admin")).Delete("/items/{id}/", deleteItem) // and a scope
//	})
//	r.With(auth.Optional()).Get("/public/", public)
//
// A subrouter's Use middleware runs before chi routes, so a client without
// valid credentials gets 401 whatever the path or method under /api, and
// one with them gets chi's 404, or 405 with an Allow header, as net/http
// answers. This package adds only Mount, which registers the login and
// logout endpoints at the paths Django REST Framework and django-rest-knox
// users know.
package chiauth

import (
	"cmp"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
)

// Paths sets the paths Mount registers, from the root of the router given
// to it. An empty path keeps its default.
type Paths struct {
	// Login is the path of the login handler. Default "/api-token-auth/".
	Login string
	// Logout revokes the presenting token. Default "/api/logout/".
	Logout string
	// LogoutAll revokes every token of the presenting token's user.
	// Default "/api/logoutall/".
	LogoutAll string
	// LogoutOthers revokes every token of the presenting token's user but
	// that one. Default "/api/logout-others/".
	LogoutOthers string
}

// Mount registers on r the login handler at p.Login, and a.LogoutHandler,
// a.LogoutAllHandler and a.LogoutOthersHandler at p.Logout, p.LogoutAll
// and p.LogoutOthers. The routes take every method: the handlers accept
// POST and answer others with Django REST Framework's 405 and an Allow
// header. The logout handlers check credentials themselves, first, so
// they need no Require in front of them. A nil login registers the logout
// routes only.
func Mount(r chi.Router, a *tokenauth.Authenticator, login http.Handler, p Paths) {
	if login != nil {
		r.Handle(cmp.Or(p.Login, "/api-token-auth/"), login)
	}
	r.Handle(cmp.Or(p.Logout, "/api/logout/"), a.LogoutHandler())
	r.Handle(cmp.Or(p.LogoutAll, "/api/logoutall/"), a.LogoutAllHandler())
	r.Handle(cmp.Or(p.LogoutOthers, "/api/logout-others/"), a.LogoutOthersHandler())
}
