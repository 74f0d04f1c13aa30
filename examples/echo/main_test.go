package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
	for _, u := range users {
		u.hash, _ = bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	}
	dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.MinCost)
	os.Exit(m.Run())
}

const (
	noCredentials = `{"detail":"Authentication credentials were not provided."}`
	invalidToken  = `{"detail":"Invalid token."}`
	inactive      = `{"detail":"User inactive or deleted."}`
	forbidden     = `{"detail":"You do not have permission to perform this action."}`
)

// answer is what the server answered: its status, body and Allow header.
type answer struct {
	status      int
	body, allow string
}

// start serves the example's handler on a fresh database and returns a
// function that sends a request with a token (if not empty) and a form
// body (if not empty).
func start(t *testing.T) (*app, func(method, path, token, form string) answer) {
	t.Helper()
	a, err := newApp(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	require.NoError(t, err)
	// In main's order: the server stops, the last uses are written, then
	// the database closes.
	t.Cleanup(func() {
		a.auth.Close()
		a.db.Close()
	})
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return a, func(method, path, token, form string) answer {
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
		// echo's c.JSON ends its bodies with a newline; tokenauth's have none.
		return answer{resp.StatusCode, strings.TrimSuffix(string(body), "\n"), resp.Header.Get("Allow")}
	}
}

// logIn logs username in with the demo password and returns the token.
func logIn(t *testing.T, do func(method, path, token, form string) answer, username string) string {
	t.Helper()
	got := do("POST", "/api-token-auth/", "", url.Values{"username": {username}, "password": {"password"}}.Encode())
	require.Equal(t, 200, got.status, got.body)
	m := regexp.MustCompile(`^\{"token":"(tka_\w+)","expiry":"[^"]+"\}$`).FindStringSubmatch(got.body)
	require.NotNil(t, m, "a token that expires: %s", got.body)
	return m[1]
}

// TestAPI walks the API over HTTP: the token is checked before the
// method, the public route answers anyone, login issues tokens, logout
// revokes them. With a valid token, a wrong method in the group gets
// echo's own 405, {"message":"Method Not Allowed"}, and an Allow header,
// as routes registered with GET and POST do; DRF's body is not worth an
// extra handler on each route.
func TestAPI(t *testing.T) {
	a, do := start(t)
	ctx := context.Background()
	key, _, err := a.auth.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	stray, _, err := a.auth.Issue(ctx, "01", tokenauth.IssueOptions{}) // not alice's ID
	require.NoError(t, err)

	methodGET := `{"detail":"Method \"GET\" not allowed."}`
	tests := []struct {
		name, method, path, token string
		want                      answer
	}{
		{"protected", "GET", "/api/protected/", key, answer{200, `{"message":"ok","user":"alice"}`, ""}},
		{"no token", "GET", "/api/protected/", "", answer{401, noCredentials, ""}},
		{"bad token", "GET", "/api/protected/", "tka_nope", answer{401, invalidToken, ""}},
		{"non-canonical user ID", "GET", "/api/protected/", stray, answer{401, inactive, ""}},
		{"wrong method, no token", "POST", "/api/protected/", "", answer{401, noCredentials, ""}},
		{"wrong method", "POST", "/api/protected/", key, answer{405, `{"message":"Method Not Allowed"}`, "GET"}}, // echo's own 405
		{"unknown path, no token", "GET", "/api/nothing/", "", answer{401, noCredentials, ""}},
		{"unknown path", "GET", "/api/nothing/", key, answer{404, `{"message":"Not Found"}`, ""}}, // echo's own 404
		{"admin, no token", "GET", "/api/admin/", "", answer{401, noCredentials, ""}},
		{"admin, not an admin", "GET", "/api/admin/", key, answer{403, forbidden, ""}},
		{"logout by GET, no token", "GET", "/api/logout/", "", answer{401, noCredentials, ""}},
		{"logout by GET", "GET", "/api/logout/", key, answer{405, `{"message":"Method Not Allowed"}`, "POST"}},               // echo's own 405
		{"logout-others by GET", "GET", "/api/logout-others/", key, answer{405, `{"message":"Method Not Allowed"}`, "POST"}}, // echo's own 405
		{"public", "GET", "/api/public/", "", answer{200, `{"message":"public"}`, ""}},
		{"public with a bad token", "GET", "/api/public/", "tka_nope", answer{401, invalidToken, ""}},
		{"login by GET", "GET", "/api-token-auth/", "", answer{405, methodGET, "POST, OPTIONS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, do(tt.method, tt.path, tt.token, ""))
		})
	}

	t.Run("login and logout", func(t *testing.T) {
		for _, username := range []string{"alice", "nobody"} {
			got := do("POST", "/api-token-auth/", "", url.Values{"username": {username}, "password": {"wrong"}}.Encode())
			assert.Equal(t, answer{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, ""}, got)
		}
		login, other := logIn(t, do, "alice"), logIn(t, do, "alice")
		assert.Equal(t, 204, do("POST", "/api/logout-others/", other, "").status)
		assert.Equal(t, 401, do("GET", "/api/protected/", login, "").status, "another session, logged out")
		login = logIn(t, do, "alice")
		assert.Equal(t, 200, do("GET", "/api/protected/", login, "").status)
		assert.Equal(t, 204, do("POST", "/api/logout/", login, "").status)
		assert.Equal(t, 401, do("GET", "/api/protected/", login, "").status, "a logged-out token")
		assert.Equal(t, 204, do("POST", "/api/logoutall/", other, "").status)
		assert.Equal(t, 401, do("GET", "/api/protected/", other, "").status, "after logout-all")
	})
}

// TestAdmin is the newcomer's path to an admin route: the admin logs in
// at the one login endpoint, and the scope "admin" that the checker
// grants it opens GET /api/admin/; alice's login does not.
func TestAdmin(t *testing.T) {
	_, do := start(t)
	admin := logIn(t, do, "admin")
	assert.Equal(t, answer{200, `{"users":["alice","admin"]}`, ""}, do("GET", "/api/admin/", admin, ""))
	assert.Equal(t, answer{200, `{"message":"ok","user":"admin"}`, ""}, do("GET", "/api/protected/", admin, ""))
	assert.Equal(t, answer{403, forbidden, ""}, do("GET", "/api/admin/", logIn(t, do, "alice"), ""))
}
