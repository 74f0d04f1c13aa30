// Package chiauth wires tokenauth into a chi router. chi speaks net/http,
// so the core's middleware (Authenticator.Require, Optional and
// RequireScopes) and handlers work with it unchanged, and handlers read the
// token with tokenauth.FromContext(r.Context()); this package only adds
// route helpers.
//
//	r := chi.NewRouter()
//	chiauth.Mount(r, auth, login, chiauth.Options{})
//	chiauth.Protected(r, auth, func(r chi.Router) {
//		r.Get("/api/items/{id}", getItem)
//	})
package chiauth

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
)

// Options sets the paths Mount registers. An empty path keeps its default,
// the path Django REST Framework and django-rest-knox users know.
type Options struct {
	// Login is the path of the login handler. Default "/api-token-auth/".
	Login string
	// Logout is the path that revokes the presenting token. Default
	// "/logout/".
	Logout string
	// LogoutAll is the path that revokes every token of the presenting
	// token's user. Default "/logoutall/".
	LogoutAll string
}

// Mount registers on r login at o.Login, and a.LogoutHandler and
// a.LogoutAllHandler behind a.Require at o.Logout and o.LogoutAll. The
// routes take every method: the handlers accept POST and answer others
// with Django REST Framework's 405. A nil login registers the logout
// routes only.
func Mount(r chi.Router, a *tokenauth.Authenticator, login http.Handler, o Options) {
	if login != nil {
		r.Handle(orDefault(o.Login, "/api-token-auth/"), login)
	}
	r.With(a.Require).Handle(orDefault(o.Logout, "/logout/"), a.LogoutHandler())
	r.With(a.Require).Handle(orDefault(o.LogoutAll, "/logoutall/"), a.LogoutAllHandler())
}

// Protected adds to r a group of routes, registered by fn, that only
// requests with valid credentials reach (see Authenticator.Require), and
// returns it.
func Protected(r chi.Router, a *tokenauth.Authenticator, fn func(r chi.Router)) chi.Router {
	return group(r, a.Require, fn)
}

// Optional adds to r a group of routes, registered by fn, open to
// anonymous clients but refusing bad credentials (see
// Authenticator.Optional), and returns it.
func Optional(r chi.Router, a *tokenauth.Authenticator, fn func(r chi.Router)) chi.Router {
	return group(r, a.Optional, fn)
}

// Scoped adds to r a group of routes, registered by fn, that only requests
// whose token carries every one of scopes reach (see
// Authenticator.RequireScopes), and returns it.
func Scoped(r chi.Router, a *tokenauth.Authenticator, scopes []string, fn func(r chi.Router)) chi.Router {
	return group(r, a.RequireScopes(scopes...), fn)
}

func group(r chi.Router, mw func(http.Handler) http.Handler, fn func(r chi.Router)) chi.Router {
	return r.Group(func(r chi.Router) {
		r.Use(mw)
		if fn != nil {
			fn(r)
		}
	})
}

func orDefault(path, def string) string {
	if path == "" {
		return def
	}
	return path
}
