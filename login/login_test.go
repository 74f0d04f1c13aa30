package login_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDRFTable runs every row of DRF's login table (shared/DRF.md) in each
// body encoding.
func TestDRFTable(t *testing.T) {
	rows := []struct {
		name     string
		method   string
		fields   []kv
		jsonOnly bool // forms cannot express the row
		status   int
		body     string // exact, except for 200
	}{
		{name: "valid credentials", fields: credentials("john", password), status: http.StatusOK},
		{name: "no password", fields: []kv{{"username", "john"}}, status: http.StatusBadRequest,
			body: `{"password":["This field is required."]}`},
		{name: "no fields", status: http.StatusBadRequest, body: bodyBothRequired},
		{name: "empty username", fields: credentials("", password), status: http.StatusBadRequest,
			body: `{"username":["This field may not be blank."]}`},
		{name: "all-space username", fields: credentials(" \t\u3000\u00a0 ", password), status: http.StatusBadRequest,
			body: `{"username":["This field may not be blank."]}`},
		{name: "null password", fields: []kv{{"username", "john"}, {"password", nil}}, jsonOnly: true,
			status: http.StatusBadRequest, body: `{"password":["This field may not be null."]}`},
		{name: "wrong password", fields: credentials("john", password+"!"), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "unknown user", fields: credentials("nobody", password), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "inactive user", fields: credentials("mallow", password), status: http.StatusBadRequest, body: bodyBadCredentials},
		{name: "GET", method: http.MethodGet, fields: credentials("john", password), status: http.StatusMethodNotAllowed,
			body: `{"detail":"Method \"GET\" not allowed."}`},
	}
	for _, enc := range encodings {
		for _, row := range rows {
			if row.jsonOnly && enc.name != "json" {
				continue // a form has no null
			}
			t.Run(enc.name+"/"+row.name, func(t *testing.T) {
				fx := newFixture(t, tokenauth.Options{}, login.Options{})
				ct, body := enc.encode(t, row.fields)
				if row.fields == nil && enc.name == "json" {
					body = "{}"
				}
				method := row.method
				if method == "" {
					method = http.MethodPost
				}
				w := send(fx.h, method, ct, body, "")

				assert.Equal(t, row.status, w.Code)
				assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
				assert.NotContains(t, w.Body.String(), password)
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
				assert.Equal(t, "1", mustVerify(t, fx.auth, resp["token"]).UserID)
			})
		}

		t.Run(enc.name+"/unsupported media type", func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{}, login.Options{})
			_, body := enc.encode(t, credentials("john", password))
			w := post(fx.h, "text/plain", body, "")
			assert.Equal(t, http.StatusUnsupportedMediaType, w.Code)
			assert.Equal(t, `{"detail":"Unsupported media type \"text/plain\" in request."}`, w.Body.String())
			assert.Empty(t, fx.users.attempts())
		})
	}

	t.Run("malformed JSON", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		w := post(fx.h, "application/json", `{"username": "john", "password": `+password+`}`, "")
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Equal(t, `{"detail":"JSON parse error - invalid syntax at byte 34"}`, w.Body.String())
		assert.Empty(t, fx.users.attempts())
	})
}

// Answers that DRF gives outside its table, as the handler renders them;
// the decoding itself is tested in internal/form.
func TestBodyAnswers(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"not an object", "application/json", `["john"]`, http.StatusBadRequest,
			`{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		{"not strings", "application/json", `{"username": true, "password": {"a": 1}}`, http.StatusBadRequest,
			`{"username":["Not a valid string."],"password":["Not a valid string."]}`},
		{"null characters", "application/json", `{"username": "jo\u0000hn", "password": "pass\u0000word"}`, http.StatusBadRequest,
			`{"username":["Null characters are not allowed."],"password":["Null characters are not allowed."]}`},
		{"empty body", "", "", http.StatusBadRequest, bodyBothRequired},
		{"too large", "application/json", `{"username": "` + strings.Repeat("a", 64<<10) + `"}`, http.StatusRequestEntityTooLarge,
			`{"detail":"Request body too large."}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{}, login.Options{})
			w := post(fx.h, c.contentType, c.body, "")
			assert.Equal(t, c.status, w.Code)
			assert.Equal(t, c.want, w.Body.String())
			assert.Empty(t, fx.users.attempts())
		})
	}

	t.Run("numbers are their text", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		w := post(fx.h, "application/json", `{"username": 123, "password": 4.5}`, "")
		assert.Equal(t, bodyBadCredentials, w.Body.String())
		assert.Equal(t, []attempt{{"123", "4.5"}}, fx.users.attempts())
	})

	t.Run("MaxBodyBytes", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{MaxBodyBytes: 64})
		ct, body := encodeJSON(t, credentials("john", password))
		tokenOf(t, post(fx.h, ct, body, ""))
		w := post(fx.h, ct, body[:len(body)-1]+`,"x":"`+strings.Repeat("x", 64)+`"}`, "")
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	})
}

// One answer for every refusal, byte for byte, so that a client cannot
// tell an unknown user from a wrong password or an inactive account.
func TestRefusalsAreIndistinguishable(t *testing.T) {
	fx := newFixture(t, tokenauth.Options{}, login.Options{Limiter: login.NoLimit})
	var answers []string
	for _, c := range [][2]string{{"john", "wrong"}, {"nobody", password}, {"mallow", password}} {
		w := loginAs(t, fx.h, "", c[0], c[1])
		answers = append(answers, fmt.Sprint(w.Code, w.Header(), w.Body.String()))
	}
	assert.Equal(t, answers[0], answers[1])
	assert.Equal(t, answers[0], answers[2])
}

func TestTrimsUsernameNotPassword(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{}, login.Options{})
			ct, body := enc.encode(t, credentials("\u2003 jane\t\x1f", " spaced out "))
			tokenOf(t, post(fx.h, ct, body, ""))

			ct, body = enc.encode(t, credentials("jane", "spaced out"))
			assert.Equal(t, bodyBadCredentials, post(fx.h, ct, body, "").Body.String())

			assert.Equal(t, []attempt{{"jane", " spaced out "}, {"jane", "spaced out"}}, fx.users.attempts())
		})
	}
}

func TestMethods(t *testing.T) {
	fx := newFixture(t, tokenauth.Options{}, login.Options{})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, "BREW"} {
		t.Run(m, func(t *testing.T) {
			w := send(fx.h, m, "", "", "")
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
			assert.Equal(t, `{"detail":"Method \"`+m+`\" not allowed."}`, w.Body.String())
		})
	}
	t.Run("OPTIONS", func(t *testing.T) {
		w := send(fx.h, http.MethodOptions, "", "", "")
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
		assert.Empty(t, w.Body.String())
	})
	assert.Empty(t, fx.users.attempts())
}

// Every answer, success or not, forbids caching and content sniffing.
func TestEveryAnswerHasSafetyHeaders(t *testing.T) {
	ct, good := encodeJSON(t, credentials("john", password))
	_, bad := encodeJSON(t, credentials("john", "wrong"))
	cases := []struct {
		name   string
		status int
		setup  func(fx *fixture)
		method string
		ct     string
		body   string
	}{
		{"200", http.StatusOK, nil, http.MethodPost, ct, good},
		{"204", http.StatusNoContent, nil, http.MethodOptions, "", ""},
		{"400", http.StatusBadRequest, nil, http.MethodPost, ct, bad},
		{"405", http.StatusMethodNotAllowed, nil, http.MethodGet, "", ""},
		{"413", http.StatusRequestEntityTooLarge, nil, http.MethodPost, ct, `{"username":"` + strings.Repeat("a", 1<<17) + `"}`},
		{"415", http.StatusUnsupportedMediaType, nil, http.MethodPost, "text/plain", good},
		{"429", http.StatusTooManyRequests, func(fx *fixture) {
			for range 5 {
				post(fx.h, ct, bad, "")
			}
		}, http.MethodPost, ct, bad},
		{"503", http.StatusServiceUnavailable, func(fx *fixture) { fx.users.setErr(errors.New("down")) }, http.MethodPost, ct, good},
		{"503 from the store", http.StatusServiceUnavailable, func(fx *fixture) { fx.store.SetErr(errors.New("down")) }, http.MethodPost, ct, good},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{}, login.Options{})
			if c.setup != nil {
				c.setup(fx)
			}
			w := send(fx.h, c.method, c.ct, c.body, "")
			assert.Equal(t, c.status, w.Code)
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "no-cache", w.Header().Get("Pragma"))
		})
	}
}

func TestNewInvalidOptions(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	checker := newUsers()
	cases := []struct {
		name    string
		auth    *tokenauth.Authenticator
		checker login.CredentialChecker
		opts    login.Options
	}{
		{"nil authenticator", nil, checker, login.Options{}},
		{"nil checker", auth, nil, login.Options{}},
		{"negative TTL", auth, checker, login.Options{TTL: -time.Second}},
		{"negative body limit", auth, checker, login.Options{MaxBodyBytes: -1}},
		{"refuse without a limit", auth, checker, login.Options{MaxTokensPerUser: -1, RefuseOverMax: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := login.New(c.auth, c.checker, c.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, h)
		})
	}
}
