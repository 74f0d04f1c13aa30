package tokenauth

import (
	"context"
	"errors"
	"net/http"
)

// allowPost lets POST through. It answers OPTIONS with 204 and the Allow
// header, and any other method with Django REST Framework's 405.
func allowPost(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodPost:
		return true
	case http.MethodOptions:
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		WriteDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
	}
	return false
}

// LogoutHandler returns the logout endpoint: a POST revokes the token that
// authenticated it and gets 204 No Content. Mount it behind Require, which
// puts the token in the request context:
//
//	mux.Handle("/auth/logout", a.Require(a.LogoutHandler()))
//
// Mounted on its own it authenticates the request itself, so it is safe
// either way. A token already revoked (by a concurrent logout) still gets
// 204; a store outage gets 503.
func (a *Authenticator) LogoutHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		if err := a.Revoke(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
}

// LogoutAllHandler returns the "log out everywhere" endpoint: a POST
// revokes every token of the user whose token authenticated it, that token
// included, and gets 204 No Content. Mount it behind Require:
//
//	mux.Handle("/auth/logout-all", a.Require(a.LogoutAllHandler()))
//
// Mounted on its own it authenticates the request itself.
func (a *Authenticator) LogoutAllHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		_, err := a.RevokeAll(ctx, t.UserID)
		return err
	})
}

func (a *Authenticator) logoutHandler(revoke func(context.Context, *Token) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		t, ok := FromContext(r.Context())
		if !ok {
			p, err := a.Authenticate(r)
			if err != nil {
				a.Error(w, r, err)
				return
			}
			t = p.Token
		}
		if err := revoke(r.Context(), t); err != nil {
			a.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
