package demoapp

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
)

// newTestApp opens an App on a fresh SQLite file.
func newTestApp(t *testing.T, cfg Config) *App {
	t.Helper()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	app, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })
	return app
}

// signup sends a sign-up request with the given media type and body.
func signup(h http.Handler, method, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api/signup/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSignupHandler(t *testing.T) {
	app := newTestApp(t, Config{})
	h := app.SignupHandler()
	_, err := app.Users.Create(context.Background(), "taken", "taken-secret", true)
	require.NoError(t, err)

	const jsonType, formType = "application/json", "application/x-www-form-urlencoded"
	errs := func(field string, msgs ...string) string {
		b, _ := json.Marshal(map[string][]string{field: msgs})
		return string(b)
	}
	tests := []struct {
		name        string
		method      string // default POST
		contentType string
		body        string
		status      int
		want        string // the exact body, unless it holds a new token
		user        string // the user a successful sign-up creates
	}{
		{name: "json", contentType: jsonType, body: `{"username": "carol", "password": "carol-secret"}`, status: 201, user: "carol"},
		{name: "form", contentType: formType, body: "username=dave&password=dave-secret", status: 201, user: "dave"},
		{name: "json charset", contentType: jsonType + "; charset=utf-8", body: `{"username": " erin ", "password": "erin-secret"}`, status: 201, user: "erin"},
		{name: "unicode username", contentType: formType, body: "username=Jos%C3%A9.b%2B1&password=jose-secret", status: 201, user: "José.b+1"},
		{name: "taken", contentType: jsonType, body: `{"username": "taken", "password": "another-secret"}`, status: 400,
			want: errs("username", msgUsernameTaken)},
		{name: "empty body", contentType: jsonType, status: 400,
			want: `{"password":["This field is required."],"username":["This field is required."]}`},
		{name: "no password", contentType: formType, body: "username=frank", status: 400, want: errs("password", msgRequired)},
		{name: "null", contentType: jsonType, body: `{"username": null, "password": "frank-secret"}`, status: 400, want: errs("username", msgNull)},
		{name: "not a string", contentType: jsonType, body: `{"username": ["frank"], "password": "frank-secret"}`, status: 400, want: errs("username", msgNotString)},
		{name: "blank", contentType: formType, body: "username=+++&password=frank-secret", status: 400, want: errs("username", msgBlank)},
		{name: "username too long", contentType: formType, body: "username=" + strings.Repeat("a", 151) + "&password=frank-secret", status: 400,
			want: errs("username", msgUsernameTooLong)},
		{name: "username characters", contentType: formType, body: "username=frank%20smith&password=frank-secret", status: 400,
			want: errs("username", msgUsernameChars)},
		{name: "password short", contentType: formType, body: "username=frank&password=short", status: 400, want: errs("password", msgPasswordShort)},
		{name: "password long", contentType: formType, body: "username=frank&password=" + strings.Repeat("p", 73), status: 400,
			want: errs("password", msgPasswordLong)},
		{name: "password NUL", contentType: formType, body: "username=frank&password=frank%00secret", status: 400, want: errs("password", msgNullChar)},
		{name: "not an object", contentType: jsonType, body: `["frank"]`, status: 400,
			want: errs("non_field_errors", "Invalid data. Expected a dictionary, but got list.")},
		{name: "malformed json", contentType: jsonType, body: `{"username": "frank", "password": "frank-sec`, status: 400,
			want: `{"detail":"JSON parse error - the body is not valid JSON."}`},
		{name: "malformed form", contentType: formType, body: "username=%zz&password=frank-secret", status: 400,
			want: `{"detail":"Form parse error - the body is not a valid form."}`},
		{name: "media type", contentType: "text/plain", body: "frank", status: 415, want: `{"detail":"Unsupported media type \"text/plain\" in request."}`},
		{name: "too large", contentType: formType, body: "username=frank&password=" + strings.Repeat("p", maxSignupBody), status: 413,
			want: `{"detail":"Request body too large."}`},
		{name: "GET", method: "GET", status: 405, want: `{"detail":"Method \"GET\" not allowed."}`},
		{name: "OPTIONS", method: "OPTIONS", status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := signup(h, cmp.Or(tt.method, "POST"), tt.contentType, tt.body)
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			if tt.status == 405 || tt.status == 204 {
				assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
			}
			if tt.user == "" {
				assert.Equal(t, tt.want, strings.TrimSpace(w.Body.String()))
				assert.NotContains(t, w.Body.String(), "secret", "answers never echo the password")
				return
			}
			var got signupResponse
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tt.user, got.User)
			p, err := app.Auth.Verify(context.Background(), got.Token)
			require.NoError(t, err, "the sign-up token authenticates")
			u, ok := p.User.(*User)
			require.True(t, ok)
			assert.Equal(t, tt.user, u.Username)
			assert.Equal(t, "signup", p.Token.Name)
		})
	}
}

func TestSignupThrottled(t *testing.T) {
	app := newTestApp(t, Config{LoginLimit: 1})
	h := app.SignupHandler()
	w := signup(h, "POST", "application/x-www-form-urlencoded", "username=a1&password=password1")
	require.Equal(t, 201, w.Code, w.Body.String())
	w = signup(h, "POST", "application/x-www-form-urlencoded", "username=a2&password=password2")
	assert.Equal(t, 429, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Regexp(t, `^\{"detail":"Request was throttled. Expected available in \d+ seconds?."\}$`, w.Body.String())
}

// TestSignupRollback checks that a sign-up whose token cannot be issued
// leaves no user behind and answers 503, so that a retry can succeed.
func TestSignupRollback(t *testing.T) {
	app := newTestApp(t, Config{})
	var logs strings.Builder
	app.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := app.db.Exec("DROP TABLE tokenauth_tokens")
	require.NoError(t, err)

	w := signup(app.SignupHandler(), "POST", "application/json", `{"username": "carol", "password": "carol-secret"}`)
	assert.Equal(t, 503, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Equal(t, `{"detail":"`+tokenauth.DetailUnavailable+`"}`, w.Body.String())
	assert.Contains(t, logs.String(), "sign-up failed")
	assert.NotContains(t, logs.String(), "carol-secret")
	_, _, err = app.Users.byUsername(context.Background(), "carol")
	assert.ErrorIs(t, err, errNoUser, "the user was removed again")
}

func TestFieldErrorsError(t *testing.T) {
	err := FieldErrors{"username": {msgBlank}, "password": {msgPasswordShort}}
	assert.Equal(t, "demoapp: invalid sign-up: password: "+msgPasswordShort+" username: "+msgBlank, err.Error())
}
