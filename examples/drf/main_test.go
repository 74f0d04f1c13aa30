package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	alice.hash, _ = bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	os.Exit(m.Run())
}

// start serves the example's handler on a fresh database.
func start(t *testing.T) (*app, *httptest.Server) {
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
	return a, srv
}

// answer is what the server answered.
type answer struct {
	status            int
	contentType, body string
}

func send(t *testing.T, srv *httptest.Server, method, path string, header map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

var (
	jsonBody = map[string]string{"Content-Type": "application/json"}
	// issued is a successful login's answer: the seed's {"token": …} and
	// the token's expiry, in 30 days.
	issued = regexp.MustCompile(`^\{"token":"(tka_[0-9A-Za-z]+)","expiry":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$`)
)

// logIn logs alice in with JSON credentials, as the seed's clients do,
// and returns the token.
func logIn(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	got := send(t, srv, "POST", "/api/login/", jsonBody, `{"username": "alice", "password": "password"}`)
	require.Equal(t, 200, got.status, got.body)
	assert.Equal(t, "application/json", got.contentType)
	m := issued.FindStringSubmatch(got.body)
	require.NotNil(t, m, got.body)
	return m[1]
}

// TestSeedAPI sends the DRF service's requests and checks every answer
// byte for byte: status, media type and body. A wrong method with a valid
// token gets net/http's own 405, where DRF's would be JSON.
func TestSeedAPI(t *testing.T) {
	_, srv := start(t)
	key := logIn(t, srv)
	token := func(key string) map[string]string { return map[string]string{"Authorization": "Token " + key} }
	invalid := answer{401, "application/json", `{"error":"Invalid Credentials"}`}

	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		want               answer
	}{
		{"protected", "GET", "/api/protected/", token(key), "", answer{200, "application/json", `{"message":"You have access to this protected endpoint."}`}},
		{"protected, no token", "GET", "/api/protected/", nil, "", answer{401, "application/json", `{"detail":"Authentication credentials were not provided."}`}},
		{"protected, unknown token", "GET", "/api/protected/", token("tka_nope"), "", answer{401, "application/json", `{"detail":"Invalid token."}`}},
		{"protected, wrong method, no token", "POST", "/api/protected/", nil, "", answer{401, "application/json", `{"detail":"Authentication credentials were not provided."}`}},
		{"protected, wrong method", "POST", "/api/protected/", token(key), "", answer{405, "text/plain; charset=utf-8", "Method Not Allowed\n"}},
		{"login, wrong password", "POST", "/api/login/", jsonBody, `{"username": "alice", "password": "wrong"}`, invalid},
		{"login, unknown user", "POST", "/api/login/", jsonBody, `{"username": "bob", "password": "password"}`, invalid},
		{"login, no password", "POST", "/api/login/", jsonBody, `{"username": "alice"}`, invalid},
		{"login, null username", "POST", "/api/login/", jsonBody, `{"username": null, "password": "password"}`, invalid},
		{"login, GET", "GET", "/api/login/", nil, "", answer{405, "application/json", `{"detail":"Method \"GET\" not allowed."}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, send(t, srv, tt.method, tt.path, tt.header, tt.body))
		})
	}
}

// TestSecondLogin checks what the README explains: where DRF's
// get_or_create gives a second login the key of the first, here it gets
// a new one, and both work.
func TestSecondLogin(t *testing.T) {
	_, srv := start(t)
	first, second := logIn(t, srv), logIn(t, srv)
	assert.NotEqual(t, first, second)
	for _, key := range []string{first, second} {
		got := send(t, srv, "GET", "/api/protected/", map[string]string{"Authorization": "Token " + key}, "")
		assert.Equal(t, 200, got.status)
	}
}

// TestTenLoginTokens checks the bound the README gives: a user keeps 10
// login tokens, and the eleventh login revokes the oldest.
func TestTenLoginTokens(t *testing.T) {
	_, srv := start(t)
	var keys []string
	for range 11 {
		keys = append(keys, logIn(t, srv))
	}
	for i, key := range keys {
		want := 200
		if i == 0 {
			want = 401
		}
		got := send(t, srv, "GET", "/api/protected/", map[string]string{"Authorization": "Token " + key}, "")
		assert.Equal(t, want, got.status, "login %d", i+1)
	}
}

// TestNonCanonicalUserID checks that a token issued to "01" does not pass
// for alice (user 1).
func TestNonCanonicalUserID(t *testing.T) {
	a, srv := start(t)
	key, _, err := a.auth.Issue(context.Background(), "01", tokenauth.IssueOptions{})
	require.NoError(t, err)
	got := send(t, srv, "GET", "/api/protected/", map[string]string{"Authorization": "Token " + key}, "")
	assert.Equal(t, answer{401, "application/json", `{"detail":"User inactive or deleted."}`}, got)
}
