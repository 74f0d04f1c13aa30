package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
	bcryptCost = bcrypt.MinCost // these tests check behaviour, not hash strength
	os.Exit(m.Run())
}

// server is the quickstart's handler on a fresh database, with the demo
// users' tokens.
type server struct {
	*httptest.Server
	app        *app
	alice, bob string
}

func start(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	a, err := newApp(ctx, filepath.Join(t.TempDir(), "test.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	// In main's order: the server stops, the last uses are written, then
	// the database closes.
	t.Cleanup(func() {
		a.auth.Close()
		a.db.Close()
	})
	alice, bob, err := a.demo(ctx)
	require.NoError(t, err)
	s := &server{Server: httptest.NewServer(a.routes()), app: a, alice: alice, bob: bob}
	t.Cleanup(s.Close)
	return s
}

// do sends a request with a token (if not empty) and a form body (if not
// empty) and returns the status and body.
func (s *server) do(t *testing.T, method, path, token string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// token returns the "token" of a JSON body.
func token(t *testing.T, body string) string {
	t.Helper()
	var v struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	require.NotEmpty(t, v.Token, body)
	return v.Token
}

const (
	noCredentials = `{"detail":"Authentication credentials were not provided."}`
	invalidToken  = `{"detail":"Invalid token."}`
	inactive      = `{"detail":"User inactive or deleted."}`
)

// TestRoutes checks that the API is protected as DRF's IsAuthenticated
// default protects it: without a valid token, every /api/ path but the
// public ones gets 401, before a wrong method's 405 or an unknown path's
// 404.
func TestRoutes(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string // exact, if set
	}{
		{"protected", "GET", "/api/protected/", s.alice, 200, `{"message":"ok","user":"alice"}`},
		{"inactive user", "GET", "/api/protected/", s.bob, 401, inactive},
		{"no token", "GET", "/api/protected/", "", 401, noCredentials},
		{"bad token", "GET", "/api/protected/", "tka_nope", 401, invalidToken},
		{"wrong method, no token", "POST", "/api/protected/", "", 401, noCredentials},
		{"wrong method", "POST", "/api/protected/", s.alice, 405, ""},
		{"unknown path, no token", "GET", "/api/nothing/", "", 401, noCredentials},
		{"unknown path", "GET", "/api/nothing/", s.alice, 404, ""},
		{"logout by GET, no token", "GET", "/api/logout/", "", 401, noCredentials},
		{"logout by GET", "GET", "/api/logout/", s.alice, 405, `{"detail":"Method \"GET\" not allowed."}`},
		{"password by GET, no token", "GET", "/api/password/", "", 401, noCredentials},
		{"public", "GET", "/api/public/", "", 200, `{"message":"public"}`},
		{"public with a token", "GET", "/api/public/", s.alice, 200, `{"message":"public"}`},
		{"public with a bad token", "GET", "/api/public/", "tka_nope", 401, invalidToken},
		{"login by GET", "GET", "/api-token-auth/", "", 405, `{"detail":"Method \"GET\" not allowed."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.do(t, tt.method, tt.path, tt.token, nil)
			assert.Equal(t, tt.status, status, body)
			if tt.body != "" {
				assert.Equal(t, tt.body, body)
			}
		})
	}
}

// TestSignupAndLogin creates a user, logs in, and logs out.
func TestSignupAndLogin(t *testing.T) {
	s := start(t)
	carol := url.Values{"username": {"carol"}, "password": {"carol-secret"}}
	status, body := s.do(t, "POST", "/api/signup/", "", carol)
	require.Equal(t, 201, status, body)
	first := token(t, body)
	assert.Contains(t, body, `"user":"carol"`)

	status, body = s.do(t, "POST", "/api/signup/", "", carol)
	assert.Equal(t, 400, status)
	assert.Equal(t, `{"username":["A user with that username already exists."]}`, body)
	status, body = s.do(t, "POST", "/api/signup/", "", url.Values{"username": {"dave!"}, "password": {"short"}})
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "Enter a valid username.")
	assert.Contains(t, body, "This password is too short.")

	status, body = s.do(t, "POST", "/api-token-auth/", "", carol)
	require.Equal(t, 200, status, body)
	second := token(t, body)
	status, _ = s.do(t, "POST", "/api/logout/", second, nil)
	assert.Equal(t, 204, status)
	status, _ = s.do(t, "GET", "/api/protected/", second, nil)
	assert.Equal(t, 401, status, "a logged-out token")
	status, _ = s.do(t, "GET", "/api/protected/", first, nil)
	assert.Equal(t, 200, status, "logout revokes one token")
}

// TestPasswordChange checks that changing the password revokes every
// token of the user and hands back a new one.
func TestPasswordChange(t *testing.T) {
	s := start(t)
	status, body := s.do(t, "POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"password"}})
	require.Equal(t, 200, status, body)
	other := token(t, body)

	status, body = s.do(t, "POST", "/api/password/", s.alice, url.Values{"old_password": {"wrong"}, "new_password": {"new-secret"}})
	assert.Equal(t, 400, status)
	assert.Equal(t, `{"old_password":["Your old password was entered incorrectly."]}`, body)
	status, body = s.do(t, "POST", "/api/password/", s.alice, url.Values{"old_password": {"password"}, "new_password": {"short"}})
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "This password is too short.")

	status, body = s.do(t, "POST", "/api/password/", s.alice, url.Values{"old_password": {"password"}, "new_password": {"new-secret"}})
	require.Equal(t, 200, status, body)
	fresh := token(t, body)
	for _, old := range []string{s.alice, other} {
		status, body = s.do(t, "GET", "/api/protected/", old, nil)
		assert.Equal(t, 401, status, "a token issued before the change")
		assert.Equal(t, invalidToken, body)
	}
	status, _ = s.do(t, "GET", "/api/protected/", fresh, nil)
	assert.Equal(t, 200, status, "the token the change handed back")
	status, _ = s.do(t, "POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"password"}})
	assert.Equal(t, 400, status, "the old password")
	status, _ = s.do(t, "POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"new-secret"}})
	assert.Equal(t, 200, status, "the new password")
}

// TestLogoutOthers checks that "log out other sessions" keeps the
// presenting token only, and logout-all keeps none.
func TestLogoutOthers(t *testing.T) {
	s := start(t)
	aliceLogin := func() string {
		status, body := s.do(t, "POST", "/api-token-auth/", "", url.Values{"username": {"alice"}, "password": {"password"}})
		require.Equal(t, 200, status, body)
		return token(t, body)
	}
	phone, laptop := aliceLogin(), aliceLogin()
	status, _ := s.do(t, "POST", "/api/logout-others/", laptop, nil)
	assert.Equal(t, 204, status)
	for tok, want := range map[string]int{laptop: 200, phone: 401, s.alice: 401} {
		status, _ = s.do(t, "GET", "/api/protected/", tok, nil)
		assert.Equal(t, want, status)
	}

	tablet := aliceLogin()
	status, _ = s.do(t, "POST", "/api/logoutall/", tablet, nil)
	assert.Equal(t, 204, status)
	for _, tok := range []string{laptop, tablet} {
		status, _ = s.do(t, "GET", "/api/protected/", tok, nil)
		assert.Equal(t, 401, status)
	}
}

// TestNonCanonicalUserIDs checks that a token issued to "01", "+1" or
// " 1" does not pass for user 1 (alice).
func TestNonCanonicalUserIDs(t *testing.T) {
	s := start(t)
	for _, id := range []string{"01", "+1", " 1", "1 ", "1.0", "0x1"} {
		t.Run(id, func(t *testing.T) {
			key, _, err := s.app.auth.Issue(context.Background(), id, tokenauth.IssueOptions{})
			require.NoError(t, err)
			status, body := s.do(t, "GET", "/api/protected/", key, nil)
			assert.Equal(t, 401, status)
			assert.Equal(t, inactive, body)
		})
	}
}

// TestRestart checks that a second start on the same database keeps the
// users and their tokens.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "restart.db")
	first, err := newApp(ctx, path, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	firstDemo, _, err := first.demo(ctx)
	require.NoError(t, err)
	require.NoError(t, first.db.Close())

	second, err := newApp(ctx, path, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer second.db.Close()
	secondDemo, _, err := second.demo(ctx)
	require.NoError(t, err)
	for _, key := range []string{firstDemo, secondDemo} {
		p, err := second.auth.Verify(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "alice", p.User.(*user).Username)
	}
}
