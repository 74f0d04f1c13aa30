package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
)

func TestMain(m *testing.M) {
	// These tests check behaviour, not hash strength: a hash of bcrypt's
	// lowest cost makes each login fast, under the race detector too.
	alice.hash, _ = bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	os.Exit(m.Run())
}

const (
	noCredentials = `{"detail":"Authentication credentials were not provided."}`
	invalidToken  = `{"detail":"Invalid token."}`
	inactive      = `{"detail":"User inactive or deleted."}`
)

// TestAPI walks the API over HTTP: the token is checked before the
// method, the public route answers anyone, login issues tokens, logout
// revokes them.
func TestAPI(t *testing.T) {
	ctx := context.Background()
	a, err := newApp(ctx, filepath.Join(t.TempDir(), "test.db"))
	require.NoError(t, err)
	// In main's order: the server stops, the last uses are written, then
	// the database closes.
	t.Cleanup(func() {
		a.auth.Close()
		a.db.Close()
	})
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	key, _, err := a.auth.Issue(ctx, alice.ID, tokenauth.IssueOptions{})
	require.NoError(t, err)
	stray, _, err := a.auth.Issue(ctx, "01", tokenauth.IssueOptions{}) // not alice's ID
	require.NoError(t, err)

	do := func(method, path, token, form string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(form))
		require.NoError(t, err)
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		// echo's c.JSON ends its bodies with a newline; tokenauth's do not.
		return resp.StatusCode, strings.TrimSuffix(string(body), "\n")
	}

	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"protected", "GET", "/api/protected/", key, 200, `{"message":"ok","user":"alice"}`},
		{"no token", "GET", "/api/protected/", "", 401, noCredentials},
		{"bad token", "GET", "/api/protected/", "tka_nope", 401, invalidToken},
		{"non-canonical user ID", "GET", "/api/protected/", stray, 401, inactive},
		{"wrong method, no token", "POST", "/api/protected/", "", 401, noCredentials},
		{"wrong method", "POST", "/api/protected/", key, 405, `{"detail":"Method \"POST\" not allowed."}`},
		{"logout by GET, no token", "GET", "/api/logout/", "", 401, noCredentials},
		{"logout by GET", "GET", "/api/logout/", key, 405, `{"detail":"Method \"GET\" not allowed."}`},
		{"public", "GET", "/api/public/", "", 200, `{"message":"public"}`},
		{"public with a bad token", "GET", "/api/public/", "tka_nope", 401, invalidToken},
		{"login by GET", "GET", "/api-token-auth/", "", 405, `{"detail":"Method \"GET\" not allowed."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(tt.method, tt.path, tt.token, "")
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.body, body)
		})
	}

	t.Run("login and logout", func(t *testing.T) {
		status, body := do("POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"wrong"}}.Encode())
		assert.Equal(t, 400, status)
		assert.Equal(t, `{"non_field_errors":["Unable to log in with provided credentials."]}`, body)
		status, body = do("POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"password"}}.Encode())
		require.Equal(t, 200, status, body)
		login := strings.TrimSuffix(strings.TrimPrefix(body, `{"token":"`), `"}`)
		status, _ = do("GET", "/api/protected/", login, "")
		assert.Equal(t, 200, status)
		status, _ = do("POST", "/api/logout/", login, "")
		assert.Equal(t, 204, status)
		status, _ = do("GET", "/api/protected/", login, "")
		assert.Equal(t, 401, status, "a logged-out token")
		status, _ = do("POST", "/api/logoutall/", key, "")
		assert.Equal(t, 204, status)
		status, _ = do("GET", "/api/protected/", key, "")
		assert.Equal(t, 401, status, "after logout-all")
	})
}
