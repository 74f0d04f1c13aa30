package tokenauth_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// writeJSON answers v as JSON, as a host's handler does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newMux is the shared HTTP suite's server on net/http alone: the
// reference every framework adapter is held to.
func newMux(t *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
	a := env.Auth
	userID := func(r *http.Request) string {
		if tok, ok := tokenauth.FromContext(r.Context()); ok {
			return tok.UserID
		}
		return ""
	}
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", env.Login)
	mux.Handle("/api/logout/", a.Require()(a.LogoutHandler()))
	mux.Handle("/api/logoutall/", a.Require()(a.LogoutAllHandler()))
	mux.Handle("GET /api/protected/", a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"message": "ok", "user": userID(r), "ctx_user": userID(r)})
	})))
	mux.Handle("GET /api/public/", a.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"message": "public", "user": userID(r)})
	})))
	mux.Handle("GET /api/scoped/", a.Require("write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"message": "scoped"})
	})))
	mux.Handle("GET /api/items/{id}/", a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"id": r.PathValue("id"), "user": userID(r)})
	})))
	return mux
}

func TestHTTPSuite(t *testing.T) {
	tokenauthtest.RunHTTPTests(t, newMux)
}
