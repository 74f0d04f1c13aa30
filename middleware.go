package tokenauth

import (
	"net/http"
	"slices"
)

// Require returns middleware that lets a request through only with valid
// credentials carrying every one of scopes, and puts its Principal in the
// request context (see FromContext). Failures are rendered by Error: 401
// for missing or bad credentials, 403 for a missing scope, 503 when the
// store is unavailable. Behind another Require it reuses the Principal
// already found, so nesting adds scope checks, not lookups.
//
//	mux.Handle("/api/", auth.Require()(api))
//	mux.Handle("POST /api/admin/", auth.Require("admin")(admin))
//
// Put it in front of a whole API, not on each method route: as in Django
// REST Framework, a request without credentials then gets 401 before a
// wrong method's 405.
func (a *Authenticator) Require(scopes ...string) func(http.Handler) http.Handler {
	p := Policy{Scopes: slices.Clone(scopes)}
	return func(next http.Handler) http.Handler { return a.guard(p, next) }
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no Principal in its context,
// while bad credentials still fail, as in Django REST Framework.
//
//	mux.Handle("/api/feed/", auth.Optional()(feed))
func (a *Authenticator) Optional() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return a.guard(Policy{Optional: true}, next) }
}

func (a *Authenticator) guard(p Policy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := a.Check(r, p)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}
