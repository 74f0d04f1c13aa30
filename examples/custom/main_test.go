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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
)

func TestMain(m *testing.M) {
	// These tests check behaviour, not hash strength: a hash of bcrypt's
	// lowest cost makes each login fast, under the race detector too.
	admin.hash, _ = bcrypt.GenerateFromPassword([]byte("admin"), bcrypt.MinCost)
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

// send sends a request and returns its status, Content-Type and body.
func send(t *testing.T, srv *httptest.Server, method, path string, header map[string]string, body string) (int, string, string) {
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
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// legacyKey is a key the Django service issued, as its CustomToken table
// holds it.
const legacyKey = "3f2c9a1e-7b4d-4e8a-9c0f-5d6b7a8e9f10"

// TestSeedAPI sends the Django service's requests and checks that every
// answer is the service's, byte for byte: status, JSON body, media type.
func TestSeedAPI(t *testing.T) {
	a, srv := start(t)
	created := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	_, err := a.auth.Import(context.Background(), legacyKey, admin.ID, tokenauth.IssueOptions{Name: "customtoken", CreatedAt: created})
	require.NoError(t, err)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	json := map[string]string{"Content-Type": "application/json"}
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }

	// Log in twice, as a form and as JSON.
	var tokens []string
	for _, login := range []struct {
		header map[string]string
		body   string
	}{
		{form, "username=admin&password=admin"},
		{json, `{"username": "admin", "password": "admin"}`},
	} {
		status, ct, body := send(t, srv, "POST", "/custom_login/", login.header, login.body)
		require.Equal(t, 200, status, body)
		assert.Equal(t, "application/json", ct)
		m := regexp.MustCompile(`^\{"token":"(tka_[0-9A-Za-z]+)","expiry":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$`).FindStringSubmatch(body)
		require.NotNil(t, m, body)
		tokens = append(tokens, m[1])
	}

	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               string
	}{
		{"protected, raw key", "GET", "/protected_view/", auth(tokens[0]), "", 200, `{"message":"Welcome, you are authenticated!"}`},
		{"protected, the JSON login's key", "GET", "/protected_view/", auth(tokens[1]), "", 200, `{"message":"Welcome, you are authenticated!"}`},
		{"protected, imported UUID key", "GET", "/protected_view/", auth(legacyKey), "", 200, `{"message":"Welcome, you are authenticated!"}`},
		{"protected, no header", "GET", "/protected_view/", nil, "", 401, `{"error":"Token missing"}`},
		{"protected, empty header", "GET", "/protected_view/", auth(""), "", 401, `{"error":"Token missing"}`},
		{"protected, unknown key", "GET", "/protected_view/", auth("not-a-token"), "", 401, `{"error":"Invalid token"}`},
		{"protected, unknown UUID", "GET", "/protected_view/", auth("00000000-0000-4000-8000-000000000000"), "", 401, `{"error":"Invalid token"}`},
		{"protected, two words", "GET", "/protected_view/", auth("a b"), "", 401, `{"error":"Invalid token"}`},
		{"protected, wrong method, no key", "POST", "/protected_view/", nil, "", 401, `{"error":"Token missing"}`},
		{"protected, wrong method", "POST", "/protected_view/", auth(tokens[0]), "", 405, `{"detail":"Method \"POST\" not allowed."}`},
		{"login, wrong password", "POST", "/custom_login/", form, "username=admin&password=wrong", 401, `{"error":"Invalid credentials"}`},
		{"login, unknown user", "POST", "/custom_login/", json, `{"username": "root", "password": "admin"}`, 401, `{"error":"Invalid credentials"}`},
		{"login, no fields", "POST", "/custom_login/", json, `{}`, 401, `{"error":"Invalid credentials"}`},
		{"login, a blank password", "POST", "/custom_login/", form, "username=admin&password=", 401, `{"error":"Invalid credentials"}`},
		{"login, not JSON", "POST", "/custom_login/", json, `{"username": `, 401, `{"error":"Invalid credentials"}`},
		{"login, GET", "GET", "/custom_login/", nil, "", 405, `{"detail":"Method \"GET\" not allowed."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, body := send(t, srv, tt.method, tt.path, tt.header, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, "application/json", ct)
			assert.Equal(t, tt.want, body)
		})
	}
}

// TestNonCanonicalUserID checks that a token issued to "01" does not pass
// for admin (user 1).
func TestNonCanonicalUserID(t *testing.T) {
	a, srv := start(t)
	key, _, err := a.auth.Issue(context.Background(), "01", tokenauth.IssueOptions{})
	require.NoError(t, err)
	status, _, body := send(t, srv, "GET", "/protected_view/", map[string]string{"Authorization": key}, "")
	assert.Equal(t, 401, status)
	assert.Equal(t, `{"error":"Invalid token"}`, body)
}

// TestLoginRefusals checks what the seed's refusal keeps of the login
// endpoint: Cache-Control: no-store, and the throttle, whose 429 is DRF's.
func TestLoginRefusals(t *testing.T) {
	_, srv := start(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for range 5 {
		req, err := http.NewRequest("POST", srv.URL+"/custom_login/", strings.NewReader("username=admin&password=wrong"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", form["Content-Type"])
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	}
	status, _, body := send(t, srv, "POST", "/custom_login/", form, "username=admin&password=admin")
	assert.Equal(t, 429, status, "five failures a minute from one address, at one username")
	assert.Regexp(t, `^\{"detail":"Request was throttled. Expected available in \d+ seconds?."\}$`, body)
}
