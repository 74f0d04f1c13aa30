package tokenauth

import (
	"errors"
	"net/http"
	"slices"
)

// Require is middleware that lets a request through only with valid
// credentials, and puts its Principal in the request context (see
// FromContext). Failures are rendered by the ErrorHandler: 401 for missing
// or bad credentials, 503 when the store is unavailable.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _, err := a.AuthenticateContext(r)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Optional is middleware for routes open to anonymous clients: a request
// without credentials passes with no Principal in its context, while bad
// credentials still fail, as in Django REST Framework (a client with a
// revoked token learns so instead of silently becoming anonymous).
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _, err := a.AuthenticateContext(r)
		switch {
		case errors.Is(err, ErrNoCredentials):
			next.ServeHTTP(w, r)
		case err != nil:
			a.Error(w, r, err)
		default:
			next.ServeHTTP(w, r.WithContext(ctx))
		}
	})
}

// RequireScopes returns middleware that requires a token carrying every
// one of scopes, answering 403 otherwise. Behind Require it reuses the
// Principal already in the context; on its own it authenticates first, as
// Require does.
func (a *Authenticator) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	want := slices.Clone(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFromContext(r.Context())
			if !ok || p.Token == nil {
				ctx, found, err := a.AuthenticateContext(r)
				if err != nil {
					a.Error(w, r, err)
					return
				}
				p, r = found, r.WithContext(ctx)
			}
			if err := CheckScopes(p.Token, want...); err != nil {
				a.Error(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ScopeError reports the scopes a token lacks. It matches
// ErrInsufficientScope with errors.Is.
type ScopeError struct {
	// Required lists every scope the route requires.
	Required []string
}

func (e *ScopeError) Error() string { return ErrInsufficientScope.Error() }

// Is makes errors.Is(err, ErrInsufficientScope) true.
func (e *ScopeError) Is(target error) bool { return target == ErrInsufficientScope }

// CheckScopes returns a *ScopeError unless t carries every one of scopes.
func CheckScopes(t *Token, scopes ...string) error {
	if t == nil || !t.HasScopes(scopes...) {
		return &ScopeError{Required: scopes}
	}
	return nil
}

// Error renders err, as returned by Authenticate, with the ErrorHandler.
// For outages it first sets Retry-After. Adapters for other frameworks call
// it so that every framework answers alike.
func (a *Authenticator) Error(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrUnavailable) {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	a.errorHandler(w, r, err)
}
