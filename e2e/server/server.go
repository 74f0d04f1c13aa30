// Package server holds end-to-end suites that run a complete
// token-authenticated HTTP service, wired as a host wires tokenauth, in the
// test process and send it what real clients send, over TCP:
//
//   - TestHostileInput: huge, malformed and duplicated headers, control
//     bytes, keys of every wrong length, 10 MiB bodies, truncated multipart,
//     deeply nested JSON, wrong media types: never a 5xx, never a panic.
//   - TestSecrecy and TestSecrecyOutage: no key, digest or password in any
//     log line or answer, with SHA-256 and HMAC digests, and while
//     PostgreSQL is cut off.
//   - TestSoak: memory and goroutines stay flat under a minute of steady
//     load. It runs only when TOKENAUTH_SOAK=1 (.ci/run sets it).
//
// The service is this file: users kept in memory (alice, active; bob,
// inactive; carol, active), tokens in any database sqlstore supports, the
// login and logout handlers, a protected and a public route, and one log
// line per request.
package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// demoPassword is alice's and bob's password. It is no secret: the suites
// send it freely. carolPassword is, and is distinctive enough not to occur
// in any answer or log by chance.
const (
	demoPassword  = "password"
	carolPassword = "carol-Secret-4f9"
)

// user is a row of the service's users table.
type user struct {
	id, username string
	active       bool
	hash         []byte
}

// users are the service's accounts, by username; their hashes are made
// once, at bcrypt's lowest cost: these suites test tokenauth, not bcrypt.
var users = sync.OnceValue(func() map[string]*user {
	m := map[string]*user{}
	for _, u := range []struct {
		id, name, password string
		active             bool
	}{
		{"1", "alice", demoPassword, true},
		{"2", "bob", demoPassword, false},
		{"3", "carol", carolPassword, true},
	} {
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		m[u.name] = &user{id: u.id, username: u.name, active: u.active, hash: h}
	}
	return m
})

// dummyHash is compared against for unknown users, so that they cost the
// same time as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.MinCost)
	return h
})

func checkCredentials(_ context.Context, username, password string) (login.Grant, error) {
	u, ok := users()[username]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return login.Grant{}, login.ErrBadCredentials
	}
	if bcrypt.CompareHashAndPassword(u.hash, []byte(password)) != nil || !u.active {
		return login.Grant{}, login.ErrBadCredentials
	}
	return login.Grant{UserID: u.id}, nil
}

func loadUser(_ context.Context, id string) (any, error) {
	for _, u := range users() {
		if u.id == id {
			if !u.active {
				return nil, tokenauth.ErrUserInactive
			}
			return u, nil
		}
	}
	return nil, tokenauth.ErrNotFound
}

// config is what varies between the suites' services.
type config struct {
	// dsn is the tokens' database, as sqlstore.Open takes it.
	dsn string
	// hmacKey, when set, makes digests HMAC-SHA256.
	hmacKey []byte
	// loginLimit turns on the login handler's default throttle.
	loginLimit bool
}

// service is a running service.
type service struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string
	// AliceToken and BobToken were issued at start.
	AliceToken, BobToken string

	logs *logBuffer
}

// start runs a service for the rest of the test.
func start(t *testing.T, cfg config) *service {
	t.Helper()
	ctx := context.Background()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	db, store, err := sqlstore.Open(ctx, cfg.dsn, sqlstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, store.Migrate(ctx))
	opts := tokenauth.Options{UserLoader: loadUser, Logger: logger, StoreTimeout: 2 * time.Second, RetryAfter: time.Second}
	if cfg.hmacKey != nil {
		opts.Hasher, err = tokenauth.NewHMAC(cfg.hmacKey)
		require.NoError(t, err)
	}
	auth, err := tokenauth.New(store, opts)
	require.NoError(t, err)
	t.Cleanup(func() { auth.Close() }) // before the database closes
	limiter := login.NoLimit
	if cfg.loginLimit {
		limiter = nil // the default
	}
	lh, err := login.New(auth, login.CredentialCheckerFunc(checkCredentials), login.Options{Limiter: limiter, Logger: logger})
	require.NoError(t, err)

	api := http.NewServeMux()
	api.HandleFunc("GET /api/protected/", func(w http.ResponseWriter, r *http.Request) {
		u, _ := tokenauth.UserFromContext[*user](r.Context())
		writeJSON(w, map[string]string{"message": "ok", "user": u.username})
	})
	api.Handle("/api/logout/", auth.LogoutHandler())
	api.Handle("/api/logoutall/", auth.LogoutAllHandler())
	mux := http.NewServeMux()
	mux.Handle("/api-token-auth/", lh)
	mux.Handle("GET /api/public/", auth.Optional()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "public"})
	})))
	mux.Handle("/api/", auth.Require()(api))

	srv := httptest.NewUnstartedServer(logRequests(logger, mux))
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.Start()
	t.Cleanup(srv.Close)

	s := &service{URL: srv.URL, logs: logs}
	s.AliceToken, _, err = auth.Issue(ctx, "1", tokenauth.IssueOptions{Name: "demo"})
	require.NoError(t, err)
	s.BobToken, _, err = auth.Issue(ctx, "2", tokenauth.IssueOptions{Name: "demo"})
	require.NoError(t, err)
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Logs returns what the service has logged since it started or since the
// last TakeLogs.
func (s *service) Logs() string { return s.logs.String() }

// TakeLogs returns the logs, as Logs does, and forgets them, so that a long
// test does not keep every line in memory.
func (s *service) TakeLogs() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	out := s.logs.buf.String()
	s.logs.buf.Reset()
	return out
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	// Body is the JSON body decoded into a map; nil when empty.
	Body map[string]any
}

// Request sends a request. body, if not empty, is sent as JSON when it
// starts with '{', else as a form; token, if not empty, in an
// Authorization: Token header.
func (s *service) Request(t *testing.T, method, path, token, body string) response {
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
	r := response{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.Body), "%s %s answered %d with a body that is not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return r
}

// logBuffer collects log lines for concurrent reading.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logRequests logs one line per request: method, path, status, duration.
// Never a header, the query string or a body, where keys and passwords
// travel.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote && code >= 200 {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
