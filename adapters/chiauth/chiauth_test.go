package chiauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/adaptertest"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
)

// newServer mounts the routes of the shared HTTP suite on a chi router,
// as the README does: Mount at the root, Require in the Use of the /api
// subrouter, the public route outside it.
func newServer(_ *testing.T, env *adaptertest.Env) http.Handler {
	a := env.Auth
	r := chi.NewRouter()
	chiauth.Mount(r, a, env.Login, chiauth.Paths{})
	r.With(a.Optional()).Get("/api/public/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "public", "user": userID(r)})
	})
	r.Route("/api", func(r chi.Router) {
		r.Use(a.Require())
		r.Get("/protected/", func(w http.ResponseWriter, r *http.Request) {
			u, _ := tokenauth.UserFromContext[*adaptertest.User](r.Context())
			writeJSON(w, map[string]string{"message": "ok", "user": userID(r), "ctx_user": userID(r), "username": u.Username})
		})
		r.With(a.Require("write")).Get("/scoped/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"message": "scoped"})
		})
		r.Get("/items/{id}/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"id": chi.URLParam(r, "id"), "user": userID(r)})
		})
	})
	return r
}

func writeJSON(w http.ResponseWriter, v map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// userID is the token's user read the way chi handlers read it.
func userID(r *http.Request) string {
	if tok, ok := tokenauth.FromContext(r.Context()); ok {
		return tok.UserID
	}
	return ""
}

func TestHTTP(t *testing.T) {
	adaptertest.Run(t, newServer)
}

// TestMountPaths checks the paths Mount takes from Paths, and that a nil
// login leaves the login path unrouted.
func TestMountPaths(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	login := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	custom := chi.NewRouter()
	chiauth.Mount(custom, a, login, chiauth.Paths{Login: "/auth/login/", Logout: "/auth/logout/", LogoutAll: "/auth/all/", LogoutOthers: "/auth/others/"})
	noLogin := chi.NewRouter()
	chiauth.Mount(noLogin, a, nil, chiauth.Paths{})
	tests := []struct {
		name   string
		r      http.Handler
		method string
		path   string
		want   int
	}{
		{"custom login", custom, "GET", "/auth/login/", http.StatusTeapot},
		{"custom logout", custom, "POST", "/auth/logout/", http.StatusUnauthorized},
		{"custom logout all", custom, "POST", "/auth/all/", http.StatusUnauthorized},
		{"custom logout others", custom, "POST", "/auth/others/", http.StatusUnauthorized},
		{"default path unrouted", custom, "POST", "/api/logout/", http.StatusNotFound},
		{"no login", noLogin, "POST", "/api-token-auth/", http.StatusNotFound},
		{"no login, logout", noLogin, "POST", "/api/logout/", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		tc.r.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		assert.Equal(t, tc.want, w.Code, tc.name)
	}
}
