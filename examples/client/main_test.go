package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// server is a stand-in for the quickstart: login (alice, "password"),
// a protected route and logout.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	require.NoError(t, err)
	check := login.CredentialCheckerFunc(func(_ context.Context, username, password string) (login.Grant, error) {
		if username != "alice" || password != "password" {
			return login.Grant{}, login.ErrBadCredentials
		}
		return login.Grant{UserID: "1"}, nil
	})
	lh, err := login.New(auth, check, login.Options{
		Limiter: mustLimiter(t, login.MemoryLimiterOptions{MaxFailures: 2, MaxWait: -1}),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", lh)
	mux.Handle("GET /api/protected/", auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"message": "ok", "user": tok.UserID})
	})))
	mux.Handle("/api/logout/", auth.LogoutHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func mustLimiter(t *testing.T, o login.MemoryLimiterOptions) login.Limiter {
	l, err := login.NewMemoryLimiter(o)
	require.NoError(t, err)
	return l
}

func TestRun(t *testing.T) {
	srv := server(t)
	ctx := context.Background()
	var out strings.Builder
	require.NoError(t, run(ctx, srv.URL, "alice", "password", &out))
	assert.Equal(t, "logged in as alice\n"+
		"GET /api/protected/: 200 OK {\"message\":\"ok\",\"user\":\"1\"}\n\n"+
		"POST /api/logout/: 204 No Content \n", out.String())

	tests := []struct {
		name, password, err string
	}{
		{"wrong password", "wrong", "wrong username or password"},
		{"again", "wrong", "wrong username or password"},
		{"throttled", "wrong", "too many failed logins; try again in "},
		{"missing field", "", "tokenauth: login refused (400): password: This field may not be blank."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(ctx, srv.URL, "bob", tt.password, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}
