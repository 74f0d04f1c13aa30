// Package demotest drives the example servers of this repository in their
// tests: it starts a server's run function on a free port with a fresh
// SQLite file, reads the address and demo tokens it prints, and walks,
// over real HTTP, the routes every example serves. Each example's test is
// then one line per scenario:
//
//	func TestFlow(t *testing.T)    { demotest.Flow(t, run) }
//	func TestRestart(t *testing.T) { demotest.Restart(t, run) }
//
// Importing demotest lowers demoapp.BcryptCost to bcrypt's minimum: these
// tests check behaviour, not the strength of password hashes, and the
// default cost takes about a second per hash under the race detector.
package demotest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

func init() { demoapp.BcryptCost = bcrypt.MinCost }

// RunFunc is an example server's whole program: it serves until ctx is
// canceled, printing to stdout.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer) error

// Server is an example server started by Start.
type Server struct {
	// URL is the base URL the server printed, as http://127.0.0.1:port.
	URL string
	// AliceToken and BobToken are the demo users' tokens, printed on the
	// first start only; empty on later starts.
	AliceToken, BobToken string

	out      *output
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// output collects what a server prints, for concurrent reading.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

var (
	listening  = regexp.MustCompile(`(?m)^Listening on (http://\S+)\n`)
	aliceToken = regexp.MustCompile(`(?m)^alice token: (\S+)$`)
	bobToken   = regexp.MustCompile(`(?m)^bob token \(inactive user\): (\S+)$`)
)

// startTimeout bounds a server's start: creating the demo users costs two
// bcrypt hashes, slow under the race detector.
const startTimeout = time.Minute

// Start runs run with -addr 127.0.0.1:0, -db db and args, and returns once
// the server listens. The server is stopped at the end of the test.
func Start(t *testing.T, run RunFunc, db string, args ...string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{out: &output{changed: make(chan struct{}, 1)}, cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"-addr", "127.0.0.1:0", "-db", db}, args...)
	go func() { s.done <- run(ctx, args, s.out) }()
	t.Cleanup(func() { s.Stop(t) })

	deadline := time.After(startTimeout)
	for {
		out := s.out.String()
		if m := listening.FindStringSubmatch(out); m != nil {
			s.URL = m[1]
			if m := aliceToken.FindStringSubmatch(out); m != nil {
				s.AliceToken = m[1]
			}
			if m := bobToken.FindStringSubmatch(out); m != nil {
				s.BobToken = m[1]
			}
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err // for Stop
			t.Fatalf("the server stopped before listening: %v\noutput:\n%s", err, out)
		case <-s.out.changed:
		case <-deadline:
			t.Fatalf("the server did not listen within %s\noutput:\n%s", startTimeout, out)
		}
	}
}

// Stop cancels the server's context, as SIGINT does, and waits for run to
// return; run must return nil. Stopping twice is harmless.
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.stopErr = <-s.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the server did not stop within 30s of its context's end")
		}
	})
	assert.NoError(t, s.stopErr, "run's result after a graceful shutdown")
}

// Output returns everything the server has printed.
func (s *Server) Output() string { return s.out.String() }

// Logs returns what the server printed after its banner: its logs.
func (s *Server) Logs() string {
	out := s.out.String()
	if _, after, ok := strings.Cut(out, "Press Ctrl-C to stop.\n"); ok {
		return after
	}
	return out
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	// Body is the JSON body decoded into a map; nil when empty.
	Body map[string]any
}

// Request sends a request to the server. body, if not empty, is sent as
// JSON when it starts with '{', else as a form; token, if not empty, in
// an Authorization: Token header.
func (s *Server) Request(t *testing.T, method, path, token, body string) Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	switch {
	case strings.HasPrefix(body, "{"):
		req.Header.Set("Content-Type", "application/json")
	case body != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := Response{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.Body), "%s %s answered %d with a body that is not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return r
}

// expect checks a response's status and JSON body.
func expect(t *testing.T, r Response, status int, body map[string]any, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, status, r.Status, msgAndArgs...)
	assert.Equal(t, body, r.Body, msgAndArgs...)
}

func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

func form(username, password string) string {
	return url.Values{"username": {username}, "password": {password}}.Encode()
}

// Flow starts a server with a fresh database and args, and walks every
// route: the demo tokens, the public route, sign-up, login, logout and
// logout-everywhere, checking that revoked tokens are refused. Last, it
// checks that the server's logs hold no token and no password.
func Flow(t *testing.T, run RunFunc, args ...string) {
	s := Start(t, run, filepath.Join(t.TempDir(), "flow.db"), args...)
	require.NotEmpty(t, s.AliceToken, "the first start prints alice's token:\n%s", s.Output())
	require.NotEmpty(t, s.BobToken, "the first start prints bob's token:\n%s", s.Output())
	assert.Contains(t, s.Output(), `curl -H "Authorization: Token `+s.AliceToken+`" `+s.URL+"/api/protected/")

	ok := func(user string) map[string]any { return map[string]any{"message": "ok", "user": user} }
	expect(t, s.Request(t, "GET", "/api/protected/", s.AliceToken, ""), 200, ok("alice"), "alice's demo token")
	r := s.Request(t, "GET", "/api/protected/", s.BobToken, "")
	expect(t, r, 401, detail("User inactive or deleted."), "bob is inactive")
	assert.Equal(t, "Token", r.Header.Get("WWW-Authenticate"))
	expect(t, s.Request(t, "GET", "/api/protected/", "", ""), 401, detail("Authentication credentials were not provided."))
	expect(t, s.Request(t, "GET", "/api/public/", "", ""), 200, map[string]any{"message": "public"}, "anonymous on the public route")
	expect(t, s.Request(t, "GET", "/api/public/", s.AliceToken, ""), 200, map[string]any{"message": "public", "user": "alice"})
	expect(t, s.Request(t, "GET", "/api/public/", "tka_garbage", ""), 401, detail("Invalid token."), "a bad token fails even where a token is optional")

	// Sign-up issues the first token in the same request.
	r = s.Request(t, "POST", "/api/signup/", "", `{"username": "carol", "password": "carol-secret"}`)
	require.Equal(t, 201, r.Status, "sign-up: %v", r.Body)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.Equal(t, "carol", r.Body["user"])
	signupToken, _ := r.Body["token"].(string)
	require.NotEmpty(t, signupToken)
	expect(t, s.Request(t, "GET", "/api/protected/", signupToken, ""), 200, ok("carol"), "the sign-up token works at once")
	expect(t, s.Request(t, "POST", "/api/signup/", "", form("carol", "another-secret")), 400,
		map[string]any{"username": []any{"A user with that username already exists."}})

	// Login issues a new token; logout revokes it, and only it.
	expect(t, s.Request(t, "POST", "/api-token-auth/", "", form("carol", "wrong-password")), 400,
		map[string]any{"non_field_errors": []any{"Unable to log in with provided credentials."}})
	expect(t, s.Request(t, "POST", "/api-token-auth/", "", form("bob", "password")), 400,
		map[string]any{"non_field_errors": []any{"Unable to log in with provided credentials."}}, "inactive users cannot log in")
	r = s.Request(t, "POST", "/api-token-auth/", "", form("carol", "carol-secret"))
	require.Equal(t, 200, r.Status, "login: %v", r.Body)
	loginToken, _ := r.Body["token"].(string)
	require.NotEmpty(t, loginToken)
	assert.NotEqual(t, signupToken, loginToken)
	expect(t, s.Request(t, "GET", "/api/protected/", loginToken, ""), 200, ok("carol"))
	expect(t, s.Request(t, "POST", "/api/logout/", loginToken, ""), 204, nil)
	expect(t, s.Request(t, "GET", "/api/protected/", loginToken, ""), 401, detail("Invalid token."), "a logged-out token is refused")
	expect(t, s.Request(t, "POST", "/api/logout/", loginToken, ""), 401, detail("Invalid token."))
	expect(t, s.Request(t, "GET", "/api/protected/", signupToken, ""), 200, ok("carol"), "logout revokes one token")

	// Logout everywhere revokes every token of the user, and no other's.
	r = s.Request(t, "POST", "/api-token-auth/", "", `{"username": "carol", "password": "carol-secret"}`)
	require.Equal(t, 200, r.Status)
	second, _ := r.Body["token"].(string)
	expect(t, s.Request(t, "POST", "/api/logoutall/", signupToken, ""), 204, nil)
	expect(t, s.Request(t, "GET", "/api/protected/", signupToken, ""), 401, detail("Invalid token."))
	expect(t, s.Request(t, "GET", "/api/protected/", second, ""), 401, detail("Invalid token."))
	expect(t, s.Request(t, "GET", "/api/protected/", s.AliceToken, ""), 200, ok("alice"), "other users keep their tokens")

	logs := s.Logs()
	assert.Regexp(t, `level=INFO msg=request method=POST path=/api/signup/ status=201 duration=\S+ remote=127\.0\.0\.1:\d+`, logs)
	assert.Contains(t, logs, "path=/api/protected/ status=401")
	for _, secret := range []string{s.AliceToken, s.BobToken, signupToken, loginToken, second, "carol-secret", "wrong-password"} {
		assert.NotContains(t, logs, secret, "logs never hold tokens or passwords")
	}
}

// Restart starts a server, stops it and starts it again on the same
// database: the demo users are not created twice, no token is printed
// again, and tokens issued before the restart still work.
func Restart(t *testing.T, run RunFunc, args ...string) {
	db := filepath.Join(t.TempDir(), "restart.db")
	first := Start(t, run, db, args...)
	require.NotEmpty(t, first.AliceToken)
	alice := first.AliceToken
	first.Stop(t)
	assert.Contains(t, first.Logs(), "msg=\"shutting down\"")

	second := Start(t, run, db, args...)
	assert.Empty(t, second.AliceToken, "tokens are printed on the first start only")
	assert.Empty(t, second.BobToken)
	assert.Contains(t, second.Output(), "The demo users exist already")
	assert.Contains(t, second.Output(), "curl -d username=alice -d password=password "+second.URL+"/api-token-auth/")
	expect(t, second.Request(t, "GET", "/api/protected/", alice, ""), 200,
		map[string]any{"message": "ok", "user": "alice"}, "a token survives a restart")
	expect(t, second.Request(t, "POST", "/api/signup/", "", form("alice", "password1")), 400,
		map[string]any{"username": []any{"A user with that username already exists."}}, "alice exists once")
	r := second.Request(t, "POST", "/api-token-auth/", "", form("alice", "password"))
	assert.Equal(t, 200, r.Status, "alice logs in after a restart: %v", r.Body)
}
