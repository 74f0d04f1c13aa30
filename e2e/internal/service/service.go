// Package service is the HTTP service that the replica and freeze suites
// run: a login endpoint, a protected route, logout, logout-all,
// logout-others, a password change and rotate, wired as a host wires
// tokenauth. The replica suite runs it as separate processes (package main
// in ../../replicas/replica); the freeze suite in the test process.
package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

// Password is every user's password: the suites test tokenauth, not a
// users table. Any non-empty username logs in with it, as itself.
const Password = "password"

// Checker accepts Password for any username, compared in constant time,
// after waiting delay (or until ctx ends): a slow password hash, which
// keeps logins in flight long enough for the revocation races to meet
// them.
func Checker(delay time.Duration) login.CredentialChecker {
	return login.CredentialCheckerFunc(func(ctx context.Context, username, password string) (login.Grant, error) {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return login.Grant{}, ctx.Err()
			}
		}
		if subtle.ConstantTimeCompare([]byte(password), []byte(Password)) != 1 {
			return login.Grant{}, login.ErrBadCredentials
		}
		return login.Grant{UserID: username}, nil
	})
}

// Me is the protected route's answer. CreatedAt is the token's: for a
// login's token, when its password check began.
type Me struct {
	UserID    string    `json:"user_id"`
	TokenID   string    `json:"token_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Rotated is the rotate endpoint's answer.
type Rotated struct {
	Token string `json:"token"`
}

// PasswordChanged is the password change's answer. The user's cut-off,
// taken inside RevokeAll, lies between Began and Returned, read from the
// service's clock just before the call and just after it.
type PasswordChanged struct {
	Revoked  int       `json:"revoked"`
	Began    time.Time `json:"began"`
	Returned time.Time `json:"returned"`
}

// Routes returns the service's routes:
//
//	POST /api-token-auth/   login, {"token": "..."}
//	GET  /api/me/           Me
//	POST /api/logout/       204
//	POST /api/logoutall/    204
//	POST /api/logoutothers/ 204; the presenting token is kept
//	POST /api/password/     PasswordChanged: what a password change does to
//	                        tokens (RevokeAll); the password stays Password
//	POST /api/rotate/       Rotated; the old token is revoked at once
//	GET  /debug/cache       stats() as JSON, when stats is not nil
func Routes(auth *tokenauth.Authenticator, loginHandler http.Handler, stats func() any) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me/", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		writeJSON(w, http.StatusOK, Me{UserID: tok.UserID, TokenID: tok.ID, CreatedAt: tok.CreatedAt})
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
	api.HandleFunc("POST /api/password/", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		var c PasswordChanged
		c.Began = time.Now()
		n, err := auth.RevokeAll(r.Context(), tok.UserID)
		c.Returned = time.Now()
		if err != nil {
			auth.Error(w, r, err)
			return
		}
		c.Revoked = n
		writeJSON(w, http.StatusOK, c)
	})
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", loginHandler)
	// The logout handlers authenticate by themselves.
	mux.Handle("/api/logout/", auth.LogoutHandler())
	mux.Handle("/api/logoutall/", auth.LogoutAllHandler())
	mux.Handle("/api/logoutothers/", auth.LogoutOthersHandler())
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
