// Package service is the HTTP service that the replica and freeze suites
// run: a login endpoint, a protected route, logout, logout-all and rotate,
// wired as a host wires tokenauth. The replica suite runs it as separate
// processes (package main in ../../replicas/replica); the freeze suite in
// the test process.
package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

// Password is every user's password: the suites test tokenauth, not a
// users table. Any non-empty username logs in with it, as itself.
const Password = "password"

// Checker accepts Password for any username, compared in constant time.
var Checker = login.CredentialCheckerFunc(func(_ context.Context, username, password string) (string, error) {
	if subtle.ConstantTimeCompare([]byte(password), []byte(Password)) != 1 {
		return "", login.ErrBadCredentials
	}
	return username, nil
})

// Me is the protected route's answer.
type Me struct {
	UserID  string `json:"user_id"`
	TokenID string `json:"token_id"`
}

// Rotated is the rotate endpoint's answer.
type Rotated struct {
	Token string `json:"token"`
}

// Routes returns the service's routes:
//
//	POST /api-token-auth/  login, {"token": "..."}
//	GET  /api/me/          Me
//	POST /api/logout/      204
//	POST /api/logoutall/   204
//	POST /api/rotate/      Rotated; the old token is revoked at once
//	GET  /debug/cache      stats() as JSON, when stats is not nil
func Routes(auth *tokenauth.Authenticator, loginHandler http.Handler, stats func() any) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me/", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		writeJSON(w, http.StatusOK, Me{UserID: tok.UserID, TokenID: tok.ID})
	})
	api.HandleFunc("POST /api/rotate/", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		key, _, err := auth.Rotate(r.Context(), tok, 0)
		if err != nil {
			auth.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, Rotated{Token: key})
	})
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", loginHandler)
	// The logout handlers authenticate by themselves.
	mux.Handle("/api/logout/", auth.LogoutHandler())
	mux.Handle("/api/logoutall/", auth.LogoutAllHandler())
	mux.Handle("/api/", auth.Require()(api))
	if stats != nil {
		mux.HandleFunc("GET /debug/cache", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, stats())
		})
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
