package login_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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

func TestIssuedToken(t *testing.T) {
	clock := tokenauthtest.NewClock()
	now := clock.Now()
	cases := []struct {
		name   string
		opts   tokenauth.Options
		lopts  login.Options
		expiry string
		token  tokenauth.Token
	}{
		{"defaults", tokenauth.Options{}, login.Options{}, "", tokenauth.Token{Name: "login"}},
		{"authenticator default TTL", tokenauth.Options{DefaultTTL: time.Hour}, login.Options{},
			now.Add(time.Hour).Format(time.RFC3339), tokenauth.Token{Name: "login", ExpiresAt: now.Add(time.Hour)}},
		{"login options", tokenauth.Options{DefaultTTL: time.Hour},
			login.Options{TokenName: "web", Scopes: []string{"read", "write"}, TTL: 90 * time.Minute},
			now.Add(90 * time.Minute).Format(time.RFC3339),
			tokenauth.Token{Name: "web", Scopes: []string{"read", "write"}, ExpiresAt: now.Add(90 * time.Minute)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Now = clock.Now
			fx := newFixture(t, c.opts, c.lopts)
			w := loginAs(t, fx.h, "", "john", password)
			require.Equal(t, http.StatusOK, w.Code)

			var resp map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			assert.Equal(t, c.expiry, resp["expiry"])
			_, hasExpiry := resp["expiry"]
			assert.Equal(t, c.expiry != "", hasExpiry)

			tok := mustVerify(t, fx.auth, resp["token"])
			assert.Equal(t, "1", tok.UserID)
			assert.Equal(t, c.token.Name, tok.Name)
			assert.Equal(t, c.token.Scopes, tok.Scopes)
			assert.True(t, c.token.ExpiresAt.Equal(tok.ExpiresAt), "ExpiresAt = %v", tok.ExpiresAt)
		})
	}

	t.Run("options are copied", func(t *testing.T) {
		scopes := []string{"read"}
		fx := newFixture(t, tokenauth.Options{}, login.Options{Scopes: scopes})
		scopes[0] = "admin"
		tok := mustVerify(t, fx.auth, tokenOf(t, loginAs(t, fx.h, "", "john", password)))
		assert.Equal(t, []string{"read"}, tok.Scopes)
	})

	t.Run("each login issues a new token", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		first := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		second := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		assert.NotEqual(t, first, second)
		assert.Equal(t, 2, fx.store.Len())
	})
}

func TestOutages(t *testing.T) {
	outage := errors.New("users db: connection refused while checking " + password)
	cases := []struct {
		name  string
		setup func(fx *fixture)
	}{
		{"checker fails", func(fx *fixture) { fx.users.setErr(outage) }},
		{"checker returns no user ID", func(fx *fixture) {
			fx.users.byName["john"] = user{id: "", password: password, active: true}
		}},
		{"store fails", func(fx *fixture) { fx.store.SetErr(errors.New("token db down")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{RetryAfter: 7 * time.Second}, login.Options{})
			c.setup(fx)
			w := loginAs(t, fx.h, "", "john", password)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "7", w.Header().Get("Retry-After"))
			assert.Equal(t, `{"detail":"Authentication service temporarily unavailable, try again later."}`, w.Body.String())
			assert.Contains(t, fx.logs.String(), "level=ERROR", "the cause is logged")
			assert.NotContains(t, fx.logs.String(), password)
		})
	}

	t.Run("outages are not counted as failures", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		fx.users.setErr(outage)
		for range 20 {
			assert.Equal(t, http.StatusServiceUnavailable, loginAs(t, fx.h, "", "john", "wrong").Code)
		}
		fx.users.setErr(nil)
		tokenOf(t, loginAs(t, fx.h, "", "john", password))
	})

	t.Run("a checker that panics frees its slot", func(t *testing.T) {
		lim, err := login.NewMemoryLimiter(login.MemoryLimiterOptions{MaxFailures: 1, MaxWait: -1})
		require.NoError(t, err)
		fx := newFixture(t, tokenauth.Options{}, login.Options{Limiter: lim})
		panicky, err := login.New(fx.auth, login.CredentialCheckerFunc(func(context.Context, string, string) (string, error) {
			panic("host bug")
		}), login.Options{Limiter: lim})
		require.NoError(t, err)
		assert.Panics(t, func() { loginAs(t, panicky, "", "john", password) })
		tokenOf(t, loginAs(t, fx.h, "", "john", password))
	})
}

// blockingChecker blocks until its context ends, as a checker over a hung
// database does.
var blockingChecker = login.CredentialCheckerFunc(func(ctx context.Context, _, _ string) (string, error) {
	<-ctx.Done()
	return "", fmt.Errorf("querying users: %w", ctx.Err())
})

// blockingStore hangs on Create and List until the context ends.
type blockingStore struct{ *tokenauthtest.Store }

func (s blockingStore) Create(ctx context.Context, _ *tokenauth.Token) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s blockingStore) List(ctx context.Context, _ string) ([]*tokenauth.Token, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Every call the handler makes, to the checker or the store, ends at
// Options.Timeout with 503 and Retry-After, however long the callee would
// hang.
func TestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	hungStore, err := tokenauth.New(blockingStore{tokenauthtest.NewStore()}, tokenauth.Options{Logger: discardLogger})
	require.NoError(t, err)
	fine, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	cases := []struct {
		name    string
		auth    *tokenauth.Authenticator
		checker login.CredentialChecker
		opts    login.Options
	}{
		{"credential check", fine, blockingChecker, login.Options{}},
		{"issue", hungStore, newUsers(), login.Options{}},
		{"list", hungStore, newUsers(), login.Options{MaxTokensPerUser: 1, RefuseOverMax: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &logBuffer{}
			c.opts.Timeout = timeout
			c.opts.Logger = slogTo(logs)
			h, err := login.New(c.auth, c.checker, c.opts)
			require.NoError(t, err)
			start := time.Now()
			w := loginAs(t, h, "", "john", password)
			elapsed := time.Since(start)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "5", w.Header().Get("Retry-After"))
			assert.GreaterOrEqual(t, elapsed, timeout)
			assert.Less(t, elapsed, timeout+2*time.Second)
			assert.Contains(t, logs.String(), "level=ERROR")
		})
	}

	t.Run("a timed-out check is not a failure", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		h, err := login.New(fx.auth, blockingChecker, login.Options{Timeout: time.Millisecond}) // the default limiter
		require.NoError(t, err)
		for range 10 {
			assert.Equal(t, http.StatusServiceUnavailable, loginAs(t, h, "", "john", password).Code)
		}
	})
}

// A client that hangs up during the check is logged at debug level: it
// says nothing about the service, and anyone can do it.
func TestClientHangUpIsNotAnError(t *testing.T) {
	logs := &logBuffer{}
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	entered := make(chan struct{})
	checker := login.CredentialCheckerFunc(func(ctx context.Context, u, p string) (string, error) {
		close(entered)
		return blockingChecker(ctx, u, p)
	})
	h, err := login.New(auth, checker, login.Options{Logger: slogTo(logs), Timeout: -1})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	ct, body := encodeJSON(t, credentials("john", password))
	r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body)).WithContext(ctx)
	r.Header.Set("Content-Type", ct)
	go func() {
		<-entered
		cancel()
	}()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Contains(t, logs.String(), "level=DEBUG")
	assert.NotContains(t, logs.String(), "level=ERROR")
}

// During an outage the log gets one ERROR line a second, with the count
// of the lines held back.
func TestOutageLogIsRateLimited(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{Logger: discardLogger}, login.Options{Now: clock.Now, Limiter: login.NoLimit})
	fx.users.setErr(errors.New("users db down"))
	errorLines := func() []string {
		var lines []string
		for _, l := range strings.Split(fx.logs.String(), "\n") {
			if strings.Contains(l, "level=ERROR") {
				lines = append(lines, l)
			}
		}
		return lines
	}

	for range 10 {
		assert.Equal(t, http.StatusServiceUnavailable, loginAs(t, fx.h, "", "john", password).Code)
		clock.Advance(50 * time.Millisecond)
	}
	require.Len(t, errorLines(), 1)
	assert.Contains(t, errorLines()[0], "users db down")

	clock.Advance(500 * time.Millisecond)
	loginAs(t, fx.h, "", "john", password)
	lines := errorLines()
	require.Len(t, lines, 2)
	assert.Contains(t, lines[1], "suppressed=9")
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
		{"negative token limit", auth, checker, login.Options{MaxTokensPerUser: -1}},
		{"refuse without a limit", auth, checker, login.Options{RefuseOverMax: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := login.New(c.auth, c.checker, c.opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, h)
		})
	}
}

func TestMaxTokensPerUser(t *testing.T) {
	valid := func(fx *fixture, key string) bool {
		_, err := fx.auth.Verify(context.Background(), key)
		return err == nil
	}

	t.Run("revoke oldest", func(t *testing.T) {
		clock := tokenauthtest.NewClock()
		fx := newFixture(t, tokenauth.Options{Now: clock.Now}, login.Options{MaxTokensPerUser: 2, Now: clock.Now})
		ctx := context.Background()
		cli, _, err := fx.auth.Issue(ctx, "1", tokenauth.IssueOptions{Name: "cli"})
		require.NoError(t, err)
		expired, _, err := fx.auth.Issue(ctx, "1", tokenauth.IssueOptions{Name: "login", TTL: time.Second})
		require.NoError(t, err)
		other, _, err := fx.auth.Issue(ctx, "2", tokenauth.IssueOptions{Name: "login"})
		require.NoError(t, err)

		var keys []string
		for range 4 {
			clock.Advance(time.Second)
			keys = append(keys, tokenOf(t, loginAs(t, fx.h, "", "john", password)))
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
		fx := newFixture(t, tokenauth.Options{}, login.Options{MaxTokensPerUser: 2, RefuseOverMax: true})
		first := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		second := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		w := loginAs(t, fx.h, "", "john", password)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Equal(t, `{"detail":"Maximum amount of tokens allowed per user exceeded."}`, w.Body.String())
		assert.True(t, valid(fx, first))
		assert.True(t, valid(fx, second))
		assert.Equal(t, 2, fx.store.Len())

		require.NoError(t, fx.auth.Revoke(context.Background(), mustVerify(t, fx.auth, first).ID))
		tokenOf(t, loginAs(t, fx.h, "", "john", password))
	})

	t.Run("store outage", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{MaxTokensPerUser: 2, RefuseOverMax: true})
		fx.store.SetErr(errors.New("down"))
		assert.Equal(t, http.StatusServiceUnavailable, loginAs(t, fx.h, "", "john", password).Code)
	})
}
