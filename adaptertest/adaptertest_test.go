package adaptertest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adaptertest"
)

// newMux is the suite's server on net/http alone, with auth.Require() in
// front of the whole /api/ tree: the reference every adapter is held to.
func newMux(_ *testing.T, env *adaptertest.Env) http.Handler {
	a := env.Auth
	api := http.NewServeMux()
	api.Handle("POST /api/logout/", a.LogoutHandler())
	api.Handle("POST /api/logoutall/", a.LogoutAllHandler())
	api.Handle("POST /api/logout-others/", a.LogoutOthersHandler())
	api.HandleFunc("GET /api/protected/", func(w http.ResponseWriter, r *http.Request) {
		u, _ := tokenauth.UserFromContext[*adaptertest.User](r.Context())
		writeJSON(w, map[string]string{"message": "ok", "user": userID(r), "ctx_user": userID(r), "username": u.Username})
	})
	api.Handle("GET /api/scoped/", a.Require("write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "scoped"})
	})))
	api.HandleFunc("GET /api/items/{id}/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"id": r.PathValue("id"), "user": userID(r)})
	})

	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", env.Login)
	mux.Handle("GET /api/public/", a.Optional()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "public", "user": userID(r)})
	})))
	mux.Handle("/api/", a.Require()(api))
	return mux
}

func userID(r *http.Request) string {
	if tok, ok := tokenauth.FromContext(r.Context()); ok {
		return tok.UserID
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestNetHTTP holds the suite to net/http's own answers, so that what it
// asks of the adapters is what the core does.
func TestNetHTTP(t *testing.T) {
	adaptertest.Run(t, newMux)
}
