package tokenauth

import (
	"context"
	"errors"
	"net/http"
)

// LogoutHandler returns the logout endpoint: a POST revokes the token that
// authenticated it and gets 204 No Content, even if a concurrent logout
// revoked it first; a store outage gets 503.
func (a *Authenticator) LogoutHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		if err := a.Revoke(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
}

// LogoutAllHandler returns the "log out everywhere" endpoint: a POST
// revokes all the user's tokens (RevokeAll) and gets 204 No Content.
func (a *Authenticator) LogoutAllHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		_, err := a.RevokeAll(ctx, t.UserID)
		return err
	})
}

// LogoutOthersHandler returns the "log out other sessions" endpoint: a POST
// revokes the user's other tokens (RevokeOthers) and gets 204 No Content.
func (a *Authenticator) LogoutOthersHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		_, err := a.RevokeOthers(ctx, t)
		return err
	})
}

func (a *Authenticator) logoutHandler(revoke func(context.Context, *Token) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff") // on every answer, OPTIONS's 204 too
		// Credentials first, as Django REST Framework checks them before
		// dispatching on the method: a request without them gets 401.
		ctx, err := a.Check(r, Policy{})
		if err == nil && !allowPost(w, r) {
			return
		}
		if err == nil {
			t, _ := FromContext(ctx)
			err = revoke(r.Context(), t)
		}
		if err != nil {
			a.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

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
		writeDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
	}
	return false
}
