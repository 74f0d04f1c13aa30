package chiauth_test

import (
	"encoding/json"
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
// Require guards the whole /api subrouter, as Django REST Framework's
// default permission does, so it decides before the method does: a wrong
// method without credentials gets 401, not 405. chi runs a router's Use
// middleware before it routes, a wrong method included; the public route
// lives outside the subrouter.
func newServer(_ *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
	a := env.Auth
	r := chi.NewRouter()
	r.Handle("/api-token-auth/", env.Login)
	r.With(a.Optional).Get("/api/public/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "public", "user": userID(r)})
	})
	r.Route("/api", func(r chi.Router) {
		r.Use(a.Require())
		chiauth.Mount(r, a, nil, chiauth.Paths{}) // /api/logout/, /api/logoutall/
		r.Get("/protected/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"message": "ok", "user": userID(r), "ctx_user": userID(r)})
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
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// userID is the token's user read the way chi handlers read it.
func userID(r *http.Request) string {
	if tok, ok := tokenauth.FromContext(r.Context()); ok {
		return tok.UserID
	}
	return ""
}

func TestHTTP(t *testing.T) {
	tokenauthtest.RunHTTPTests(t, newServer)
}

// TestAuthBeforeMethodDispatch checks that the suite's server decides on
// credentials before it looks at the method, as DRF does.
func TestAuthBeforeMethodDispatch(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{})
	h := newServer(t, &tokenauthtest.HTTPEnv{Auth: a, Store: store, Login: http.NotFoundHandler()})
	key := tokenauthtest.Issue(t, a, "alice")
	tests := []struct {
		name, method, path, header string
		want                       int
		detail                     string // "" when the router answers
	}{
		{"NoCredentials", http.MethodPost, "/api/protected/", "", http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"BadToken", http.MethodDelete, "/api/items/1/", "Token tka_bad", http.StatusUnauthorized, "Invalid token."},
		{"LogoutGet", http.MethodGet, "/api/logout/", "", http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"ValidToken", http.MethodPost, "/api/protected/", "Token " + key, http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code)
			if tc.detail != "" {
				assert.JSONEq(t, `{"detail":"`+tc.detail+`"}`, w.Body.String())
				assert.Equal(t, "Token", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestNestedRequireOneLookup checks that r.With(a.Require(scope)) behind
// the router's r.Use(a.Require()) reuses the Principal instead of asking
// the store again.
func TestNestedRequireOneLookup(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{TouchInterval: -1})
	key := tokenauthtest.Issue(t, a, "alice", "write")
	r := chi.NewRouter()
	r.Use(a.Require())
	r.With(a.Require("write")).Get("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Token "+key)
	before := store.Calls()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, 1, store.Calls()-before, "one store lookup per request")
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
			chiauth.Mount(r, a, nil, chiauth.Paths{})
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

// TestMountLogin checks that Mount serves the login handler at its
// default path and at a chosen one, for every method: the handler answers
// a wrong method itself, with DRF's 405.
func TestMountLogin(t *testing.T) {
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Login", r.Method)
		w.WriteHeader(http.StatusTeapot)
	})
	tests := []struct {
		name, method, path string
		paths              chiauth.Paths
	}{
		{"Default", http.MethodPost, "/api-token-auth/", chiauth.Paths{}},
		{"DefaultGet", http.MethodGet, "/api-token-auth/", chiauth.Paths{}},
		{"Custom", http.MethodPost, "/auth/login/", chiauth.Paths{Login: "/auth/login/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := tokenauthtest.New(t, tokenauth.Options{})
			r := chi.NewRouter()
			chiauth.Mount(r, a, login, tc.paths)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			assert.Equal(t, http.StatusTeapot, w.Code)
			assert.Equal(t, tc.method, w.Header().Get("X-Login"))
		})
	}
}
