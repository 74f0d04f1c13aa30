package tokenauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loginPassword is john's password. It is distinctive so that tests can
// check it never appears in a response or a log line.
const loginPassword = "s3cret-Pa55 word"

const (
	bodyBadCredentials = `{"non_field_errors":["Unable to log in with provided credentials."]}`
	bodyBothRequired   = `{"username":["This field is required."],"password":["This field is required."]}`
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

type loginUser struct {
	id, password string
	active       bool
}

type loginAttempt struct{ username, password string }

// loginChecker is the host's user table in these tests. It records every
// call and can be made to fail.
type loginChecker struct {
	users map[string]loginUser

	mu   sync.Mutex
	seen []loginAttempt
	err  error
}

func newLoginChecker() *loginChecker {
	return &loginChecker{users: map[string]loginUser{
		"john":   {id: "1", password: loginPassword, active: true},
		"jane":   {id: "2", password: " spaced out ", active: true},
		"mallow": {id: "3", password: loginPassword, active: false},
	}}
}

func (c *loginChecker) CheckCredentials(_ context.Context, username, password string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, loginAttempt{username, password})
	if c.err != nil {
		return "", c.err
	}
	u, ok := c.users[username]
	if !ok || u.password != password || !u.active {
		return "", fmt.Errorf("checking %q: %w", username, tokenauth.ErrBadCredentials)
	}
	return u.id, nil
}

func (c *loginChecker) setErr(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func (c *loginChecker) attempts() []loginAttempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]loginAttempt(nil), c.seen...)
}

type loginFixture struct {
	auth    *tokenauth.Authenticator
	store   *tokenauthtest.Store
	checker *loginChecker
	login   *tokenauth.LoginHandler
	logs    *bytes.Buffer
}

// newLoginFixture returns a login handler over a fresh fake store. Its
// logs are kept in fx.logs (the handler logs from one goroutine per test
// unless a test says otherwise).
func newLoginFixture(t testing.TB, opts tokenauth.Options, lopts tokenauth.LoginOptions) *loginFixture {
	t.Helper()
	fx := &loginFixture{checker: newLoginChecker(), logs: &bytes.Buffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(fx.logs, nil))
	}
	fx.auth, fx.store = tokenauthtest.New(t, opts)
	var err error
	fx.login, err = tokenauth.NewLoginHandler(fx.auth, fx.checker, lopts)
	require.NoError(t, err)
	return fx
}

// loginKV is one field of a login body, in order. value is a string, nil
// (JSON null) or a json.RawMessage (any other JSON value).
type loginKV struct {
	key   string
	value any
}

func credentials(username, password string) []loginKV {
	return []loginKV{{"username", username}, {"password", password}}
}

type loginEncoding struct {
	name   string
	encode func(t testing.TB, fields []loginKV) (contentType, body string)
}

var loginEncodings = []loginEncoding{
	{"json", encodeLoginJSON},
	{"form", encodeLoginForm},
	{"multipart", encodeLoginMultipart},
}

func encodeLoginJSON(t testing.TB, fields []loginKV) (string, string) {
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

func encodeLoginForm(t testing.TB, fields []loginKV) (string, string) {
	parts := make([]string, len(fields))
	for i, f := range fields {
		s, ok := f.value.(string)
		require.True(t, ok, "form fields are strings")
		parts[i] = url.QueryEscape(f.key) + "=" + url.QueryEscape(s)
	}
	return "application/x-www-form-urlencoded", strings.Join(parts, "&")
}

const loginBoundary = "tokenauth-test-boundary"

func encodeLoginMultipart(t testing.TB, fields []loginKV) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	require.NoError(t, mw.SetBoundary(loginBoundary))
	for _, f := range fields {
		s, ok := f.value.(string)
		require.True(t, ok, "multipart fields are strings")
		require.NoError(t, mw.WriteField(f.key, s))
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), b.String()
}

func doLogin(h http.Handler, method, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/auth/login", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
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

// TestLoginDRFTable runs every row of DRF's login table (../shared/DRF.md)
// in each body encoding.
func TestLoginDRFTable(t *testing.T) {
	rows := []struct {
		name     string
		method   string
		fields   []loginKV
		jsonOnly bool // forms cannot express the row
		status   int
		body     string // exact, except for 200
	}{
		{name: "valid credentials", fields: credentials("john", loginPassword), status: http.StatusOK},
		{name: "no password", fields: []loginKV{{"username", "john"}}, status: http.StatusBadRequest,
			body: `{"password":["This field is required."]}`},
		{name: "no fields", status: http.StatusBadRequest, body: bodyBothRequired},
		{name: "empty username", fields: credentials("", loginPassword), status: http.StatusBadRequest,
			body: `{"username":["This field may not be blank."]}`},
		{name: "all-space username", fields: credentials(" \t\u3000\u00a0 ", loginPassword), status: http.StatusBadRequest,
			body: `{"username":["This field may not be blank."]}`},
		{name: "null password", fields: []loginKV{{"username", "john"}, {"password", nil}}, jsonOnly: true,
			status: http.StatusBadRequest, body: `{"password":["This field may not be null."]}`},
		{name: "wrong password", fields: credentials("john", loginPassword+"!"), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "unknown user", fields: credentials("nobody", loginPassword), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "inactive user", fields: credentials("mallow", loginPassword), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "GET", method: http.MethodGet, fields: credentials("john", loginPassword), status: http.StatusMethodNotAllowed,
			body: `{"detail":"Method \"GET\" not allowed."}`},
	}
	for _, enc := range loginEncodings {
		for _, row := range rows {
			if row.jsonOnly && enc.name != "json" {
				continue // a form has no null
			}
			t.Run(enc.name+"/"+row.name, func(t *testing.T) {
				fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
				ct, body := enc.encode(t, row.fields)
				if row.fields == nil && enc.name == "json" {
					body = "{}"
				}
				method := row.method
				if method == "" {
					method = http.MethodPost
				}
				w := doLogin(fx.login, method, ct, body)

				assert.Equal(t, row.status, w.Code)
				assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				assert.NotContains(t, w.Body.String(), loginPassword)
				if row.status == http.StatusMethodNotAllowed {
					assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
				}
				if row.status != http.StatusOK {
					assert.Equal(t, row.body, w.Body.String())
					return
				}
				var resp map[string]string
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
				assert.Len(t, resp, 1, "no expiry for a token that never expires")
				p, err := fx.auth.Verify(context.Background(), resp["token"])
				require.NoError(t, err)
				assert.Equal(t, "1", p.Token.UserID)
			})
		}

		t.Run(enc.name+"/unsupported media type", func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			_, body := enc.encode(t, credentials("john", loginPassword))
			w := doLogin(fx.login, http.MethodPost, "text/plain", body)
			assert.Equal(t, http.StatusUnsupportedMediaType, w.Code)
			assert.Equal(t, `{"detail":"Unsupported media type \"text/plain\" in request."}`, w.Body.String())
			assert.Empty(t, fx.checker.attempts())
		})
	}

	// A urlencoded body cannot be malformed: like Django, the decoder takes
	// what it can (TestLoginFormIsLenient). The other two can.
	malformed := []struct {
		name, contentType, body, detail string
	}{
		{"json", "application/json", `{"username": "john", "password": ` + loginPassword + `}`,
			"JSON parse error - invalid character looking for beginning of value (line 1, column 34)"},
		{"json/truncated", "application/json", `{"username": "john", "password": "` + loginPassword,
			"JSON parse error - unexpected end of JSON input (line 1, column 51)"},
		{"json/bad escape", "application/json", "{\n\"password\": \"\\" + loginPassword + `"}`,
			"JSON parse error - invalid character in string escape code (line 2, column 15)"},
		{"json/invalid UTF-8", "application/json", "{\"username\": \"élodie\",\r\n \"password\": \"caf\xe9\"}",
			"JSON parse error - invalid UTF-8 (line 2, column 18)"},
		{"multipart", "multipart/form-data; boundary=" + loginBoundary,
			"--" + loginBoundary + "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + loginPassword,
			"Multipart form parse error - malformed multipart body"},
		{"multipart/no boundary", "multipart/form-data", "password=" + loginPassword,
			"Multipart form parse error - Invalid boundary in multipart: None"},
	}
	for _, m := range malformed {
		t.Run("malformed "+m.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			w := doLogin(fx.login, http.MethodPost, m.contentType, m.body)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, `{"detail":"`+m.detail+`"}`, w.Body.String())
			assert.Empty(t, fx.checker.attempts())
		})
	}
}

// One answer for every refusal, byte for byte, so that a client cannot
// tell an unknown user from a wrong password or an inactive account.
func TestLoginRefusalsAreIndistinguishable(t *testing.T) {
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{Limiter: tokenauth.NoLimit})
	var answers []string
	for _, c := range [][2]string{{"john", "wrong"}, {"nobody", loginPassword}, {"mallow", loginPassword}} {
		ct, body := encodeLoginJSON(t, credentials(c[0], c[1]))
		w := doLogin(fx.login, http.MethodPost, ct, body)
		answers = append(answers, fmt.Sprint(w.Code, w.Header(), w.Body.String()))
	}
	assert.Equal(t, answers[0], answers[1])
	assert.Equal(t, answers[0], answers[2])
}

func TestLoginTrimsUsernameNotPassword(t *testing.T) {
	for _, enc := range loginEncodings {
		t.Run(enc.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			ct, body := enc.encode(t, credentials("\u2003 jane\t\x1f", " spaced out "))
			tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body))

			ct, body = enc.encode(t, credentials("jane", "spaced out"))
			w := doLogin(fx.login, http.MethodPost, ct, body)
			assert.Equal(t, bodyBadCredentials, w.Body.String())

			assert.Equal(t, []loginAttempt{{"jane", " spaced out "}, {"jane", "spaced out"}}, fx.checker.attempts())
		})
	}
}

func TestLoginNullCharacters(t *testing.T) {
	for _, enc := range loginEncodings {
		t.Run(enc.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			ct, body := enc.encode(t, credentials("jo\x00hn", "pass\x00word"))
			w := doLogin(fx.login, http.MethodPost, ct, body)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, `{"username":["Null characters are not allowed."],"password":["Null characters are not allowed."]}`, w.Body.String())
			assert.Empty(t, fx.checker.attempts())
		})
	}
}

// JSON values that are not strings are treated as DRF's CharField treats
// them: numbers become their Python str(), anything else is refused.
func TestLoginJSONValueTypes(t *testing.T) {
	numbers := map[string]string{
		"123":                         "123",
		"-0":                          "0",
		"12345678901234567890123":     "12345678901234567890123",
		"1.5":                         "1.5",
		"100.0":                       "100.0",
		"1e2":                         "100.0",
		"-0.0":                        "-0.0",
		"0.0001":                      "0.0001",
		"0.00001":                     "1e-05",
		"1e15":                        "1000000000000000.0",
		"1e16":                        "1e+16",
		"1.25E-300":                   "1.25e-300",
		"1e400":                       "inf",
		"-1e400":                      "-inf",
		"0.1000000000000000055511151": "0.1",
	}
	for lit, want := range numbers {
		t.Run("number "+lit, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{Limiter: tokenauth.NoLimit})
			w := doLogin(fx.login, http.MethodPost, "application/json", `{"username": `+lit+`, "password": `+lit+`}`)
			assert.Equal(t, bodyBadCredentials, w.Body.String())
			assert.Equal(t, []loginAttempt{{want, want}}, fx.checker.attempts())
		})
	}

	invalid := `{"username":["Not a valid string."],"password":["Not a valid string."]}`
	for _, lit := range []string{"true", "false", "[]", `["john"]`, "{}", `{"a": "b"}`} {
		t.Run("value "+lit, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			w := doLogin(fx.login, http.MethodPost, "application/json", `{"username": `+lit+`, "password": `+lit+`}`)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, invalid, w.Body.String())
		})
	}

	documents := map[string]string{
		`[]`:         `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`,
		`"john"`:     `{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}`,
		` 42 `:       `{"non_field_errors":["Invalid data. Expected a dictionary, but got int."]}`,
		`4.2`:        `{"non_field_errors":["Invalid data. Expected a dictionary, but got float."]}`,
		"\ttrue\n":   `{"non_field_errors":["Invalid data. Expected a dictionary, but got bool."]}`,
		`null`:       `{"non_field_errors":["No data provided"]}`,
		`{"User":1}`: bodyBothRequired, // keys are case-sensitive
	}
	for doc, want := range documents {
		t.Run("document "+doc, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			w := doLogin(fx.login, http.MethodPost, "application/json", doc)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, want, w.Body.String())
		})
	}

	t.Run("duplicate keys: the last wins", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		w := doLogin(fx.login, http.MethodPost, "application/json",
			`{"username": "nobody", "password": "x", "username": "john", "password": "`+loginPassword+`"}`)
		tokenOf(t, w)
	})
}

func TestLoginMediaTypes(t *testing.T) {
	_, jsonBody := encodeLoginJSON(t, credentials("john", loginPassword))
	_, formBody := encodeLoginForm(t, credentials("john", loginPassword))
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"json with charset", "application/json; charset=utf-8", jsonBody, http.StatusOK, ""},
		{"json in capitals", "Application/JSON; Charset=UTF-8", jsonBody, http.StatusOK, ""},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", formBody, http.StatusOK, ""},
		{"us-ascii", "application/json; charset=us-ascii", jsonBody, http.StatusOK, ""},
		{"latin-1 is refused", "application/json; charset=latin-1", jsonBody, http.StatusUnsupportedMediaType,
			`{"detail":"Unsupported media type \"application/json; charset=latin-1\" in request."}`},
		{"json variant", "application/vnd.api+json", jsonBody, http.StatusUnsupportedMediaType,
			`{"detail":"Unsupported media type \"application/vnd.api+json\" in request."}`},
		{"no content type", "", jsonBody, http.StatusUnsupportedMediaType,
			`{"detail":"Unsupported media type \"\" in request."}`},
		{"malformed parameter ignored", "application/json; =", jsonBody, http.StatusOK, ""},
		{"unparsable content type", "json", jsonBody, http.StatusUnsupportedMediaType,
			`{"detail":"Unsupported media type \"json\" in request."}`},
		{"empty body, no content type", "", "", http.StatusBadRequest, bodyBothRequired},
		{"empty body, any content type", "text/plain", "", http.StatusBadRequest, bodyBothRequired},
		{"empty json body", "application/json", "", http.StatusBadRequest, bodyBothRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			w := doLogin(fx.login, http.MethodPost, c.contentType, c.body)
			assert.Equal(t, c.status, w.Code)
			if c.status == http.StatusOK {
				tokenOf(t, w)
				return
			}
			assert.Equal(t, c.want, w.Body.String())
		})
	}
}

func TestLoginFormIsLenient(t *testing.T) {
	cases := []struct {
		name, body string
		want       loginAttempt
	}{
		{"plus is space", "username=a+b&password=c+d", loginAttempt{"a b", "c d"}},
		{"malformed escapes stay", "username=50%25%zz&password=100%", loginAttempt{"50%%zz", "100%"}},
		{"last value wins", "username=x&username=john&password=1&password=2", loginAttempt{"john", "2"}},
		{"invalid UTF-8 replaced", "username=%FFjohn&password=%C3", loginAttempt{"\uFFFDjohn", "\uFFFD"}},
		{"empty pairs and other fields", "&&csrf=1&username=john&&password=pw&", loginAttempt{"john", "pw"}},
		{"escaped names", "user%6Eame=john&pass%77ord=pw", loginAttempt{"john", "pw"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
			w := doLogin(fx.login, http.MethodPost, "application/x-www-form-urlencoded", c.body)
			assert.Equal(t, bodyBadCredentials, w.Body.String())
			assert.Equal(t, []loginAttempt{c.want}, fx.checker.attempts())
		})
	}

	t.Run("a name alone is blank", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		w := doLogin(fx.login, http.MethodPost, "application/x-www-form-urlencoded", "username&password=x")
		assert.Equal(t, `{"username":["This field may not be blank."]}`, w.Body.String())
	})
}

func TestLoginMultipart(t *testing.T) {
	t.Run("file parts are not strings", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		require.NoError(t, mw.WriteField("username", "john"))
		require.NoError(t, mw.WriteField("password", loginPassword))
		fw, err := mw.CreateFormFile("password", "password.txt")
		require.NoError(t, err)
		_, _ = fw.Write([]byte(loginPassword))
		require.NoError(t, mw.Close())
		w := doLogin(fx.login, http.MethodPost, mw.FormDataContentType(), b.String())
		assert.Equal(t, `{"password":["Not a valid string."]}`, w.Body.String())
	})

	t.Run("large file parts leave no temporary files", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("TMPDIR", dir)
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		require.NoError(t, mw.WriteField("username", "john"))
		require.NoError(t, mw.WriteField("password", loginPassword))
		fw, err := mw.CreateFormFile("avatar", "avatar.png")
		require.NoError(t, err)
		_, _ = fw.Write(bytes.Repeat([]byte{0x89}, tokenauth.DefaultMaxLoginBodyBytes-1024))
		require.NoError(t, mw.Close())
		tokenOf(t, doLogin(fx.login, http.MethodPost, mw.FormDataContentType(), b.String()))
		left, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, left)
	})
}

func TestLoginBodyLimit(t *testing.T) {
	const limit = 1024
	pad := strings.Repeat("x", limit)
	for _, enc := range loginEncodings {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", enc.name, chunked), func(t *testing.T) {
				fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{MaxBodyBytes: limit})
				ct, body := enc.encode(t, append(credentials("john", loginPassword), loginKV{"padding", pad}))
				r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
				r.Header.Set("Content-Type", ct)
				if chunked {
					r.ContentLength = -1
				}
				w := httptest.NewRecorder()
				fx.login.ServeHTTP(w, r)
				assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
				assert.Equal(t, `{"detail":"Request body too large."}`, w.Body.String())
				assert.Empty(t, fx.checker.attempts())

				// Trim the padding to bring the body exactly to the limit.
				overhead := len(body) - len(pad)
				ct, body = enc.encode(t, append(credentials("john", loginPassword), loginKV{"padding", pad[:limit-overhead]}))
				require.Len(t, body, limit)
				tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body))
			})
		}
	}

	t.Run("default is 64 KiB", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		w := doLogin(fx.login, http.MethodPost, "application/json", `{"username":"`+strings.Repeat("a", 64<<10)+`"}`)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	})
}

func TestLoginMethods(t *testing.T) {
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, "BREW"} {
		t.Run(m, func(t *testing.T) {
			w := doLogin(fx.login, m, "", "")
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
			assert.Equal(t, `{"detail":"Method \"`+m+`\" not allowed."}`, w.Body.String())
		})
	}
	t.Run("OPTIONS", func(t *testing.T) {
		w := doLogin(fx.login, http.MethodOptions, "", "")
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
		assert.Empty(t, w.Body.String())
	})
	assert.Empty(t, fx.checker.attempts())
}

func TestLoginIssuedToken(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		opts   tokenauth.Options
		lopts  tokenauth.LoginOptions
		expiry string
		token  tokenauth.Token
	}{
		{"defaults", tokenauth.Options{}, tokenauth.LoginOptions{}, "",
			tokenauth.Token{Name: "login"}},
		{"authenticator default TTL", tokenauth.Options{DefaultTTL: time.Hour}, tokenauth.LoginOptions{}, "2026-05-01T13:00:00Z",
			tokenauth.Token{Name: "login", ExpiresAt: now.Add(time.Hour)}},
		{"login options", tokenauth.Options{DefaultTTL: time.Hour},
			tokenauth.LoginOptions{TokenName: "web", Scopes: []string{"read", "write"}, TTL: 90*time.Minute + 500*time.Millisecond},
			"2026-05-01T13:30:00Z",
			tokenauth.Token{Name: "web", Scopes: []string{"read", "write"}, ExpiresAt: now.Add(90*time.Minute + 500*time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Now = func() time.Time { return now }
			fx := newLoginFixture(t, c.opts, c.lopts)
			ct, body := encodeLoginJSON(t, credentials("john", loginPassword))
			w := doLogin(fx.login, http.MethodPost, ct, body)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "no-cache", w.Header().Get("Pragma"))

			var resp map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			assert.Equal(t, c.expiry, resp["expiry"])
			_, hasExpiry := resp["expiry"]
			assert.Equal(t, c.expiry != "", hasExpiry)

			p, err := fx.auth.Verify(context.Background(), resp["token"])
			require.NoError(t, err)
			assert.Equal(t, "1", p.Token.UserID)
			assert.Equal(t, c.token.Name, p.Token.Name)
			assert.Equal(t, c.token.Scopes, p.Token.Scopes)
			assert.True(t, c.token.ExpiresAt.Equal(p.Token.ExpiresAt), "ExpiresAt = %v", p.Token.ExpiresAt)
		})
	}

	t.Run("options are copied", func(t *testing.T) {
		scopes := []string{"read"}
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{Scopes: scopes})
		scopes[0] = "admin"
		ct, body := encodeLoginJSON(t, credentials("john", loginPassword))
		p, err := fx.auth.Verify(context.Background(), tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body)))
		require.NoError(t, err)
		assert.Equal(t, []string{"read"}, p.Token.Scopes)
	})

	t.Run("each login issues a new token", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		ct, body := encodeLoginJSON(t, credentials("john", loginPassword))
		first := tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body))
		second := tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body))
		assert.NotEqual(t, first, second)
		assert.Equal(t, 2, fx.store.Len())
	})
}

func TestLoginOutages(t *testing.T) {
	outage := errors.New("users db: connection refused while checking " + loginPassword)
	cases := []struct {
		name  string
		setup func(fx *loginFixture)
	}{
		{"checker fails", func(fx *loginFixture) { fx.checker.setErr(outage) }},
		{"checker returns no user ID", func(fx *loginFixture) {
			fx.checker.users["john"] = loginUser{id: "", password: loginPassword, active: true}
		}},
		{"store fails", func(fx *loginFixture) { fx.store.SetErr(errors.New("token db down")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newLoginFixture(t, tokenauth.Options{RetryAfter: 7 * time.Second}, tokenauth.LoginOptions{})
			c.setup(fx)
			ct, body := encodeLoginJSON(t, credentials("john", loginPassword))
			w := doLogin(fx.login, http.MethodPost, ct, body)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "7", w.Header().Get("Retry-After"))
			assert.Equal(t, `{"detail":"`+tokenauth.DetailUnavailable+`"}`, w.Body.String())
			assert.Contains(t, fx.logs.String(), "level=ERROR", "the cause is logged")
			assert.NotContains(t, fx.logs.String(), loginPassword)
		})
	}

	t.Run("outages are not counted as failures", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
		fx.checker.setErr(outage)
		ct, body := encodeLoginJSON(t, credentials("john", "wrong"))
		for range 20 {
			assert.Equal(t, http.StatusServiceUnavailable, doLogin(fx.login, http.MethodPost, ct, body).Code)
		}
		fx.checker.setErr(nil)
		ct, body = encodeLoginJSON(t, credentials("john", loginPassword))
		tokenOf(t, doLogin(fx.login, http.MethodPost, ct, body))
	})
}

func TestNewLoginHandlerInvalidOptions(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	checker := newLoginChecker()
	cases := []struct {
		name    string
		auth    *tokenauth.Authenticator
		checker tokenauth.CredentialChecker
		opts    tokenauth.LoginOptions
	}{
		{"nil authenticator", nil, checker, tokenauth.LoginOptions{}},
		{"nil checker", auth, nil, tokenauth.LoginOptions{}},
		{"negative TTL", auth, checker, tokenauth.LoginOptions{TTL: -time.Second}},
		{"negative body limit", auth, checker, tokenauth.LoginOptions{MaxBodyBytes: -1}},
		{"negative token limit", auth, checker, tokenauth.LoginOptions{MaxTokensPerUser: -1}},
		{"refuse without a limit", auth, checker, tokenauth.LoginOptions{RefuseOverMax: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := tokenauth.NewLoginHandler(c.auth, c.checker, c.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, h)
		})
	}
}

func TestLoginMaxTokensPerUser(t *testing.T) {
	login := func(t *testing.T, fx *loginFixture) *httptest.ResponseRecorder {
		ct, body := encodeLoginJSON(t, credentials("john", loginPassword))
		return doLogin(fx.login, http.MethodPost, ct, body)
	}
	valid := func(fx *loginFixture, key string) bool {
		_, err := fx.auth.Verify(context.Background(), key)
		return err == nil
	}

	t.Run("revoke oldest", func(t *testing.T) {
		clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		fx := newLoginFixture(t, tokenauth.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }},
			tokenauth.LoginOptions{MaxTokensPerUser: 2})
		cli, _, err := fx.auth.Issue(context.Background(), "1", tokenauth.IssueOptions{Name: "cli"})
		require.NoError(t, err)
		expired, _, err := fx.auth.Issue(context.Background(), "1", tokenauth.IssueOptions{Name: "login", TTL: time.Second})
		require.NoError(t, err)
		other, _, err := fx.auth.Issue(context.Background(), "2", tokenauth.IssueOptions{Name: "login"})
		require.NoError(t, err)

		var keys []string
		for range 4 {
			keys = append(keys, tokenOf(t, login(t, fx)))
		}
		assert.False(t, valid(fx, keys[0]), "oldest login token revoked")
		assert.False(t, valid(fx, keys[1]), "oldest login token revoked")
		assert.True(t, valid(fx, keys[2]))
		assert.True(t, valid(fx, keys[3]))
		assert.True(t, valid(fx, cli), "tokens with another name are not counted or revoked")
		assert.True(t, valid(fx, other), "other users are untouched")
		assert.False(t, valid(fx, expired))
	})

	t.Run("refuse", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{MaxTokensPerUser: 2, RefuseOverMax: true})
		first := tokenOf(t, login(t, fx))
		second := tokenOf(t, login(t, fx))
		w := login(t, fx)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Equal(t, `{"detail":"Maximum amount of tokens allowed per user exceeded."}`, w.Body.String())
		assert.True(t, valid(fx, first))
		assert.True(t, valid(fx, second))
		assert.Equal(t, 2, fx.store.Len())

		require.NoError(t, fx.auth.Revoke(context.Background(), mustVerify(t, fx.auth, first).ID))
		tokenOf(t, login(t, fx))
	})

	t.Run("store outage", func(t *testing.T) {
		fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{MaxTokensPerUser: 2, RefuseOverMax: true})
		fx.store.SetErr(errors.New("down"))
		assert.Equal(t, http.StatusServiceUnavailable, login(t, fx).Code)
	})
}

func mustVerify(t testing.TB, a *tokenauth.Authenticator, key string) *tokenauth.Token {
	t.Helper()
	p, err := a.Verify(context.Background(), key)
	require.NoError(t, err)
	return p.Token
}

func TestLoginConcurrent(t *testing.T) {
	const n = 50
	// Each client gets its own address, so that the default limiter is
	// exercised concurrently without counting the logins against one key.
	fx := newLoginFixture(t, tokenauth.Options{Logger: discardLogger}, tokenauth.LoginOptions{
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") },
	})
	srv := httptest.NewServer(fx.login)
	defer srv.Close()
	_, body := encodeLoginJSON(t, credentials("john", loginPassword))

	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Test-Client", fmt.Sprintf("192.0.2.%d", i))
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			var out struct{ Token string }
			if resp.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("status %d", resp.StatusCode)
				return
			}
			errs[i] = json.NewDecoder(resp.Body).Decode(&out)
			keys[i] = out.Token
		}()
	}
	wg.Wait()

	distinct := map[string]bool{}
	for i, key := range keys {
		require.NoError(t, errs[i])
		assert.Equal(t, "1", mustVerify(t, fx.auth, key).UserID)
		distinct[key] = true
	}
	assert.Len(t, distinct, n)
	assert.Equal(t, n, fx.store.Len())
}

func TestLogout(t *testing.T) {
	newAuth := func(t *testing.T) (*tokenauth.Authenticator, *tokenauthtest.Store) {
		return tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	}
	call := func(h http.Handler, method, key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/auth/logout", nil)
		if key != "" {
			r.Header.Set("Authorization", "Token "+key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	for _, behindRequire := range []bool{true, false} {
		t.Run(fmt.Sprintf("behind Require=%v", behindRequire), func(t *testing.T) {
			auth, _ := newAuth(t)
			h := auth.LogoutHandler()
			if behindRequire {
				h = auth.Require(h)
			}
			key := tokenauthtest.Issue(t, auth, "1")
			other := tokenauthtest.Issue(t, auth, "1")

			w := call(h, http.MethodPost, key)
			assert.Equal(t, http.StatusNoContent, w.Code)
			assert.Empty(t, w.Body.String())

			w = call(auth.Require(http.NotFoundHandler()), http.MethodGet, key)
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Equal(t, `{"detail":"Invalid token."}`, w.Body.String())

			w = call(h, http.MethodPost, key)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "a revoked token cannot log out again")
			assert.Equal(t, `{"detail":"Invalid token."}`, w.Body.String())

			mustVerify(t, auth, other) // the user's other sessions stay

			w = call(h, http.MethodPost, "")
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Equal(t, "Token", w.Header().Get("WWW-Authenticate"))
			assert.Equal(t, `{"detail":"Authentication credentials were not provided."}`, w.Body.String())
		})
	}

	t.Run("revoked concurrently", func(t *testing.T) {
		auth, _ := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		tok := mustVerify(t, auth, key)
		require.NoError(t, auth.Revoke(context.Background(), tok.ID))
		r := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
		r = r.WithContext(tokenauth.NewContext(r.Context(), tokenauth.Principal{Token: tok}))
		w := httptest.NewRecorder()
		auth.LogoutHandler().ServeHTTP(w, r)
		assert.Equal(t, http.StatusNoContent, w.Code)
	})

	t.Run("methods", func(t *testing.T) {
		auth, _ := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		for _, h := range []http.Handler{auth.LogoutHandler(), auth.LogoutAllHandler()} {
			w := call(h, http.MethodGet, key)
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
			assert.Equal(t, `{"detail":"Method \"GET\" not allowed."}`, w.Body.String())
		}
		mustVerify(t, auth, key)
	})

	t.Run("store outage", func(t *testing.T) {
		auth, store := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		for _, h := range []http.Handler{auth.LogoutHandler(), auth.LogoutAllHandler()} {
			r := tokenauthtest.WithUser(httptest.NewRequest(http.MethodPost, "/auth/logout", nil), "1", nil)
			store.SetErr(errors.New("down"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			store.SetErr(nil)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "5", w.Header().Get("Retry-After"))
		}
		mustVerify(t, auth, key)
	})
}

func TestLogoutAll(t *testing.T) {
	for _, behindRequire := range []bool{true, false} {
		t.Run(fmt.Sprintf("behind Require=%v", behindRequire), func(t *testing.T) {
			auth, store := tokenauthtest.New(t, tokenauth.Options{})
			h := auth.LogoutAllHandler()
			if behindRequire {
				h = auth.Require(h)
			}
			mine := []string{tokenauthtest.Issue(t, auth, "1"), tokenauthtest.Issue(t, auth, "1"), tokenauthtest.Issue(t, auth, "1")}
			theirs := []string{tokenauthtest.Issue(t, auth, "2"), tokenauthtest.Issue(t, auth, "10")}

			r := httptest.NewRequest(http.MethodPost, "/auth/logout-all", nil)
			r.Header.Set("Authorization", "Token "+mine[1])
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, http.StatusNoContent, w.Code)

			for _, key := range mine {
				_, err := auth.Verify(context.Background(), key)
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
			}
			for _, key := range theirs {
				mustVerify(t, auth, key)
			}
			assert.Equal(t, len(theirs), store.Len())
		})
	}
}
