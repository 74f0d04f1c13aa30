package tokenauth

import (
	"net/http"
	"slices"
)

// Require returns middleware that passes only requests whose credentials
// carry every one of scopes, with their Principal in the context (see
// FromContext); Error renders failures. Nested, it reuses the outer
// Principal. Put it before a whole API, not on each method route, so that,
// as in DRF, a request without credentials gets 401 before a 405.
func (a *Authenticator) Require(scopes ...string) func(http.Handler) http.Handler {
	p := Policy{Scopes: slices.Clone(scopes)}
	return func(next http.Handler) http.Handler { return a.guard(p, next) }
}

// Optional returns middleware that also passes requests without credentials,
// with no Principal; bad credentials still fail, as in Django REST Framework.
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
