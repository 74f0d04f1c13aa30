package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// TestConfig checks that a bad command line stops the service at start,
// with a message that says what to change and never quotes the key.
func TestConfig(t *testing.T) {
	key := newKey()
	for _, tc := range []struct {
		name string
		cfg  config
		want string
	}{
		{"no key", config{store: "redis", dsn: "127.0.0.1:1"}, "set TOKENAUTH_HMAC_KEY to at least 32 bytes in hex"},
		{"short key", config{store: "redis", dsn: "127.0.0.1:1", hmacKey: key[:62]}, "set TOKENAUTH_HMAC_KEY to at least 32 bytes in hex"},
		{"key not hex", config{store: "redis", dsn: "127.0.0.1:1", hmacKey: "zz-secret-" + key}, "set TOKENAUTH_HMAC_KEY to at least 32 bytes in hex"},
		{"no DSN", config{store: "redis", hmacKey: key}, "set -dsn or TOKENAUTH_DSN"},
		{"unknown store", config{store: "sqlite", dsn: "tokens.db", hmacKey: key}, `-store "sqlite": want postgres, mysql or redis`},
		{"DSN of another database", config{store: "postgres", dsn: "mysql://app@db/app", hmacKey: key}, "-dsn: want a postgres DSN"},
		{"redis down", config{store: "redis", dsn: "127.0.0.1:1", hmacKey: key}, "redis: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := newApp(context.Background(), tc.cfg, slog.New(slog.DiscardHandler))
			require.Error(t, err)
			assert.Nil(t, a)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret")
		})
	}
}

// TestRoutes checks the demo users and routes over an in-memory store.
func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newTestApp(t, nil, watchForever).routes())
	defer srv.Close()

	alice := tokenFor(t, srv.URL, "alice", http.StatusOK)
	status, body := request(t, http.MethodGet, srv.URL+"/api/protected/", alice)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"message":"ok","user":"alice"}`, body)
	status, _ = request(t, http.MethodGet, srv.URL+"/api/admin/", alice)
	assert.Equal(t, http.StatusForbidden, status, "alice's token has no scope admin")

	admin := tokenFor(t, srv.URL, "admin", http.StatusOK)
	status, body = request(t, http.MethodGet, srv.URL+"/api/admin/", admin)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"users":["alice","bob","admin"]}`, body)

	tokenFor(t, srv.URL, "bob", http.StatusBadRequest) // inactive
	status, _ = request(t, http.MethodGet, srv.URL+"/api/protected/", "")
	assert.Equal(t, http.StatusUnauthorized, status)

	status, _ = request(t, http.MethodPost, srv.URL+"/api/logoutall/", admin)
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = request(t, http.MethodPost, srv.URL+"/api/logout/", alice)
	assert.Equal(t, http.StatusNoContent, status)
	for _, token := range []string{alice, admin} {
		status, body = request(t, http.MethodGet, srv.URL+"/api/protected/", token)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.JSONEq(t, `{"detail":"Invalid token."}`, body)
	}

	status, body = request(t, http.MethodGet, srv.URL+"/metrics", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `tokenauth_revocation_subscribed_ratio 1`)
}

// TestHealthz checks /healthz's answers: 200 only while the store answers
// and the cache hears its revocations.
func TestHealthz(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	for _, tc := range []struct {
		name   string
		ping   error
		watch  func(ctx context.Context, alive func()) error
		status int
		body   string
	}{
		{"healthy", nil, watchForever, http.StatusOK,
			`{"status":"ok","store":"up","revocations":{"watching":true,"mode":"listen","reconnects":0}}`},
		{"store down", down, watchForever, http.StatusServiceUnavailable,
			`{"status":"unavailable","store":"down","revocations":{"watching":true,"mode":"listen","reconnects":0}}`},
		{"channel down", nil, func(context.Context, func()) error { return down }, http.StatusServiceUnavailable,
			`{"status":"unavailable","store":"up","revocations":{"watching":false,"mode":"listen","reconnects":0}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestApp(t, tc.ping, tc.watch)
			if strings.Contains(tc.body, `"watching":true`) {
				require.Eventually(t, func() bool { return a.cache.Stats().Watching }, 5*time.Second, 10*time.Millisecond)
			}
			w := httptest.NewRecorder()
			a.routes().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.body, w.Body.String())
			assert.NotContains(t, w.Body.String(), "10.0.0.7", "an error's text is logged, never answered")
		})
	}
}

// newTestApp is the service over memstore, whose ping returns ping and
// whose revocations are watched by watch; it is closed at the end of the
// test, which checks that the close succeeds.
func newTestApp(t *testing.T, ping error, watch func(ctx context.Context, alive func()) error) *app {
	t.Helper()
	hasher, err := tokenauth.NewHMAC([]byte(newKey()))
	require.NoError(t, err)
	sh := &shared{
		store:     watched{Store: memstore.New(), watch: watch},
		ping:      func(context.Context) error { return ping },
		watchMode: func() string { return "listen" },
		close:     func() error { return nil },
	}
	a, err := newService(sh, hasher, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, a.close()) })
	return a
}

// watched is a store whose revocation channel is watch: memstore has
// none, and the cache refuses a store without one.
type watched struct {
	tokenauth.Store
	watch func(ctx context.Context, alive func()) error
}

func (w watched) Watch(ctx context.Context, alive func(), _ func(tokenID, userID string)) error {
	return w.watch(ctx, alive)
}

// watchForever is a channel that holds, confirmed as pglisten confirms
// its own, twice a second.
func watchForever(ctx context.Context, alive func()) error {
	for {
		alive()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tokenFor logs username in, checks the status, and returns the token.
func tokenFor(t *testing.T, base, username string, status int) string {
	t.Helper()
	resp, err := http.PostForm(base+"/api-token-auth/", url.Values{"username": {username}, "password": {demoPassword}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, status, resp.StatusCode)
	var body struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Token
}

// request sends a request with token, if any, and returns the status and
// body.
func request(t *testing.T, method, target, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}
