package login_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/require"
)

// password is john's password. It is distinctive so that tests can check
// it never appears in a response or a log line.
const password = "s3cret-Pa55 word"

const (
	bodyBadCredentials = `{"non_field_errors":["Unable to log in with provided credentials."]}`
	bodyBothRequired   = `{"username":["This field is required."],"password":["This field is required."]}`
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

type user struct {
	id, password string
	active       bool
	scopes       []string
}

type attempt struct{ username, password string }

// users is the host's user table in these tests. It records every check
// and can be made to fail.
type users struct {
	byName map[string]user

	mu   sync.Mutex
	seen []attempt
	err  error
}

func newUsers() *users {
	return &users{byName: map[string]user{
		"john":   {id: "1", password: password, active: true},
		"jane":   {id: "2", password: " spaced out ", active: true},
		"mallow": {id: "3", password: password, active: false},
		"admin":  {id: "4", password: password, active: true, scopes: []string{"admin"}},
	}}
}

func (u *users) CheckCredentials(_ context.Context, username, pw string) (login.Grant, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seen = append(u.seen, attempt{username, pw})
	if u.err != nil {
		return login.Grant{}, u.err
	}
	usr, ok := u.byName[username]
	if !ok || usr.password != pw || !usr.active {
		return login.Grant{}, fmt.Errorf("checking %q: %w", username, login.ErrBadCredentials)
	}
	return login.Grant{UserID: usr.id, Scopes: usr.scopes}, nil
}

func (u *users) setErr(err error) {
	u.mu.Lock()
	u.err = err
	u.mu.Unlock()
}

func (u *users) attempts() []attempt {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]attempt(nil), u.seen...)
}

// logBuffer collects log lines from concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
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

type fixture struct {
	auth  *tokenauth.Authenticator
	store *tokenauthtest.FailingStore
	users *users
	h     *login.Handler
	logs  *logBuffer
}

// newFixture returns a login handler over a fresh fake store. The core's
// and the handler's logs, at every level, go to fx.logs.
func newFixture(t testing.TB, opts tokenauth.Options, lopts login.Options) *fixture {
	t.Helper()
	fx := &fixture{users: newUsers(), logs: &logBuffer{}}
	logger := slog.New(slog.NewTextHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Logger == nil {
		opts.Logger = logger
	}
	if lopts.Logger == nil {
		lopts.Logger = logger
	}
	fx.auth, fx.store = tokenauthtest.New(t, opts)
	var err error
	fx.h, err = login.New(fx.auth, fx.users, lopts)
	require.NoError(t, err)
	return fx
}

// kv is one field of a login body, in order. value is a string, nil (JSON
// null) or a json.RawMessage (any other JSON value).
type kv struct {
	key   string
	value any
}

func credentials(username, pw string) []kv {
	return []kv{{"username", username}, {"password", pw}}
}

type encoding struct {
	name   string
	encode func(t testing.TB, fields []kv) (contentType, body string)
}

var encodings = []encoding{
	{"json", encodeJSON},
	{"form", encodeForm},
	{"multipart", encodeMultipart},
}

func encodeJSON(t testing.TB, fields []kv) (string, string) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		require.NoError(t, err)
		v, err := json.Marshal(f.value)
		require.NoError(t, err)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return "application/json", b.String()
}

func encodeForm(t testing.TB, fields []kv) (string, string) {
	parts := make([]string, len(fields))
	for i, f := range fields {
		s, ok := f.value.(string)
		require.True(t, ok, "form fields are strings")
		parts[i] = url.QueryEscape(f.key) + "=" + url.QueryEscape(s)
	}
	return "application/x-www-form-urlencoded", strings.Join(parts, "&")
}

func encodeMultipart(t testing.TB, fields []kv) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		s, ok := f.value.(string)
		require.True(t, ok, "multipart fields are strings")
		require.NoError(t, mw.WriteField(f.key, s))
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), b.String()
}

// post sends a body to h as a client at addr ("" for httptest's default).
func post(h http.Handler, contentType, body, addr string) *httptest.ResponseRecorder {
	return send(h, http.MethodPost, contentType, body, addr)
}

func send(h http.Handler, method, contentType, body, addr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/auth/login", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if addr != "" {
		r.RemoteAddr = addr
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// loginAs posts JSON credentials from addr.
func loginAs(t testing.TB, h http.Handler, addr, username, pw string) *httptest.ResponseRecorder {
	t.Helper()
	ct, body := encodeJSON(t, credentials(username, pw))
	return post(h, ct, body, addr)
}

// tokenOf returns the token of a successful login response.
func tokenOf(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var resp struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
	require.NotEmpty(t, resp.Token)
	return resp.Token
}

func mustVerify(t testing.TB, a *tokenauth.Authenticator, key string) *tokenauth.Token {
	t.Helper()
	p, err := a.Verify(context.Background(), key)
	require.NoError(t, err)
	return p.Token
}

// slogTo returns a logger that writes every level to b.
func slogTo(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// userTokens returns the tokens userID holds.
func userTokens(t testing.TB, a *tokenauth.Authenticator, userID string) []*tokenauth.Token {
	t.Helper()
	l, err := a.List(context.Background(), userID)
	require.NoError(t, err)
	return l
}
