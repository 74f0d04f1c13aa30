package chiauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
)

// newServer mounts the routes of the shared HTTP suite on a chi router.
func newServer(a *tokenauth.Authenticator, login http.Handler) chi.Router {
	r := chi.NewRouter()
	chiauth.Mount(r, a, login, chiauth.Options{Logout: "/api/logout/", LogoutAll: "/api/logoutall/"})
	chiauth.Protected(r, a, func(r chi.Router) {
		r.Get("/api/protected/", func(w http.ResponseWriter, r *http.Request) {
			u := userID(tokenauth.FromContext(r.Context()))
			tokenauth.WriteJSON(w, http.StatusOK, map[string]string{"message": "ok", "user": u, "ctx_user": u})
		})
		r.Get("/api/items/{id}/", func(w http.ResponseWriter, r *http.Request) {
			tokenauth.WriteJSON(w, http.StatusOK, map[string]string{"id": chi.URLParam(r, "id"), "user": userID(tokenauth.FromContext(r.Context()))})
		})
	})
	chiauth.Optional(r, a, func(r chi.Router) {
		r.Get("/api/public/", func(w http.ResponseWriter, r *http.Request) {
			tokenauth.WriteJSON(w, http.StatusOK, map[string]string{"message": "public", "user": userID(tokenauth.FromContext(r.Context()))})
		})
	})
	chiauth.Scoped(r, a, []string{"write"}, func(r chi.Router) {
		r.Get("/api/scoped/", func(w http.ResponseWriter, r *http.Request) {
			tokenauth.WriteJSON(w, http.StatusOK, map[string]string{"message": "scoped"})
		})
	})
	return r
}

func userID(t *tokenauth.Token, ok bool) string {
	if !ok {
		return ""
	}
	return t.UserID
}

func TestHTTP(t *testing.T) {
	tokenauthtest.RunHTTPTests(t, func(t *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
		return newServer(env.Auth, env.Login)
	})
}

// TestMountDefaults checks the default paths and that a nil login mounts
// the logout routes only.
func TestMountDefaults(t *testing.T) {
	tests := []struct {
		name, method, path string
		auth               bool
		want               int
	}{
		{"NoLogin", http.MethodPost, "/api-token-auth/", false, http.StatusNotFound},
		{"LogoutNeedsToken", http.MethodPost, "/logout/", false, http.StatusUnauthorized},
		{"LogoutAllNeedsToken", http.MethodPost, "/logoutall/", false, http.StatusUnauthorized},
		{"LogoutGet", http.MethodGet, "/logout/", true, http.StatusMethodNotAllowed},
		{"Logout", http.MethodPost, "/logout/", true, http.StatusNoContent},
		{"LogoutAll", http.MethodPost, "/logoutall/", true, http.StatusNoContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, store := tokenauthtest.New(t, tokenauth.Options{})
			r := chi.NewRouter()
			chiauth.Mount(r, a, nil, chiauth.Options{})
			tokenauthtest.Issue(t, a, "alice") // another of alice's tokens
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.auth {
				req.Header.Set("Authorization", "Token "+tokenauthtest.Issue(t, a, "alice"))
			}
			before := store.Len()
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code)
			switch tc.name {
			case "Logout":
				assert.Equal(t, before-1, store.Len(), "the presenting token is revoked")
			case "LogoutAll":
				assert.Zero(t, store.Len(), "every token of the user is revoked")
			default:
				assert.Equal(t, before, store.Len())
			}
		})
	}
}
