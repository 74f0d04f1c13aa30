package secretscan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/secretscan"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quiet discards the logs of tests that cause failures on purpose.
var quiet = slog.New(slog.DiscardHandler)

// env is a service with a token store, its secret scanning endpoint and
// a fake GitHub with one listed key.
type env struct {
	gh    *fakeGitHub
	keyID string
	auth  *tokenauth.Authenticator
	store *tokenauthtest.FailingStore
	clock *tokenauthtest.Clock
	h     *secretscan.Handler

	mu    sync.Mutex
	leaks []secretscan.Leak
}

func newEnv(t *testing.T, opts secretscan.Options) *env {
	t.Helper()
	e := &env{gh: newFakeGitHub(t), clock: tokenauthtest.NewClock()}
	e.keyID = e.gh.newKey(t, true)
	e.auth, e.store = tokenauthtest.New(t, tokenauth.Options{Now: e.clock.Now, Logger: quiet})
	t.Cleanup(func() { _ = e.auth.Close() })
	opts.KeysURL = e.gh.url
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	opts.OnLeak = func(_ context.Context, l secretscan.Leak) {
		e.mu.Lock()
		e.leaks = append(e.leaks, l)
		e.mu.Unlock()
	}
	var err error
	e.h, err = secretscan.New(e.auth, opts)
	require.NoError(t, err)
	secretscan.SetNow(e.h, e.clock.Now)
	return e
}

func (e *env) issue(t *testing.T, user string, ttl time.Duration) (string, *tokenauth.Token) {
	t.Helper()
	key, tok, err := e.auth.Issue(context.Background(), user, tokenauth.IssueOptions{Name: "ci", TTL: ttl})
	require.NoError(t, err)
	return key, tok
}

// live reports whether key still authenticates.
func (e *env) live(t *testing.T, key string) bool {
	t.Helper()
	_, err := e.auth.Verify(context.Background(), key)
	if err != nil && !errors.Is(err, tokenauth.ErrInvalidToken) {
		t.Fatalf("Verify: %v", err)
	}
	return err == nil
}

func (e *env) leaked() []secretscan.Leak {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]secretscan.Leak(nil), e.leaks...)
}

type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

func readFeedback(t *testing.T, w *httptest.ResponseRecorder) []feedback {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var fb []feedback
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &fb))
	return fb
}

// A report revokes the live tokens it names, tells the host once per
// token with every place it was found, and labels each distinct token.
func TestReport(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, secretscan.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	live, tok := e.issue(t, "42", 0)
	expired, _ := e.issue(t, "42", time.Minute)
	e.clock.Advance(time.Minute)
	other, _ := tokenauthtest.New(t, tokenauth.Options{})
	unknown := tokenauthtest.Issue(t, other, "42")
	malformed := "tka_NMIfyYncKcRALEXAMPLE"

	inIssue := found(live)
	inIssue["url"], inIssue["source"] = "https://github.com/octocat/Hello-World/issues/1", "issue_comment"
	body := reportBody(t, found(live), found(unknown), found(expired), inIssue, found(malformed))
	fb := readFeedback(t, e.gh.send(t, e.h, e.keyID, body))

	assert.Equal(t, []feedback{
		{tokenHash(live), "tokenauth_api_token", "true_positive"},
		{tokenHash(unknown), "tokenauth_api_token", "false_positive"},
		{tokenHash(expired), "tokenauth_api_token", "true_positive"},
		{tokenHash(malformed), "tokenauth_api_token", "false_positive"},
	}, fb, "one entry per distinct token, in the report's order")
	assert.False(t, e.live(t, live), "the leaked token is revoked")
	assert.Contains(t, logs.String(), "token_id="+tok.ID, "the revocation is logged")
	assert.NotContains(t, logs.String(), live, "never the token")

	leaks := e.leaked()
	require.Len(t, leaks, 2, "OnLeak hears of each stored token it revoked, the expired one too")
	// The tokens of a report are revoked in parallel: in no set order.
	slices.SortFunc(leaks, func(a, b secretscan.Leak) int { return len(a.Found) - len(b.Found) })
	leaks = leaks[1:]
	assert.Equal(t, tok.ID, leaks[0].Token.ID)
	assert.Equal(t, "42", leaks[0].Token.UserID)
	assert.Equal(t, []secretscan.Location{
		{Type: "tokenauth_api_token", URL: "https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt", Source: "content"},
		{Type: "tokenauth_api_token", URL: "https://github.com/octocat/Hello-World/issues/1", Source: "issue_comment"},
	}, leaks[0].Found)
}

// A report that does not verify, or is too large, revokes nothing.
func TestRefusedReports(t *testing.T) {
	for name, tc := range map[string]struct {
		send   func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder
		status int
	}{
		"tampered body": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			sig := e.gh.sign(t, e.keyID, body)
			tampered := []byte(strings.Replace(string(body), `"content"`, `"Content"`, 1))
			return post(e.h, e.keyID, sig, tampered)
		}},
		"signature of another body": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, e.keyID, e.gh.sign(t, e.keyID, []byte(`[]`)), body)
		}},
		"key ID not listed": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return e.gh.send(t, e.h, e.gh.newKey(t, false), body)
		}},
		"signed by another key than the ID names": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, e.keyID, e.gh.sign(t, e.gh.newKey(t, true), body), body)
		}},
		"no signature": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, e.keyID, "", body)
		}},
		"no key ID": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, "", e.gh.sign(t, e.keyID, body), body)
		}},
		"signature not base64": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, e.keyID, "MEQCIQ!!", body)
		}},
		"signature not ASN.1": {status: 401, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			return post(e.h, e.keyID, "c2lnbmF0dXJl", body)
		}},
		"body over MaxBodyBytes, signed": {status: 413, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			h, err := secretscan.New(e.auth, secretscan.Options{KeysURL: e.gh.url, MaxBodyBytes: int64(len(body) - 1), Logger: quiet})
			require.NoError(t, err)
			return e.gh.send(t, h, e.keyID, body)
		}},
		"GET": {status: 405, send: func(t *testing.T, e *env, body []byte) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			assert.Equal(t, "POST", w.Header().Get("Allow"))
			return w
		}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, secretscan.Options{})
			key, _ := e.issue(t, "42", 0)
			w := tc.send(t, e, reportBody(t, found(key)))
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			assert.True(t, e.live(t, key), "nothing is revoked")
			assert.Empty(t, e.leaked())
		})
	}
}

// A body that is signed but is no report gets 400 and revokes nothing.
func TestMalformedReport(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	key, _ := e.issue(t, "42", 0)
	for _, body := range []string{
		`{"token":"` + key + `"}`,
		`[{"token":"` + key + `"},{"type":"x"}]`,
		`[{"token":"` + key + `"}] trailing`,
		`null`,
		``,
	} {
		w := e.gh.send(t, e.h, e.keyID, []byte(body))
		assert.Equal(t, 400, w.Code, body)
	}
	assert.True(t, e.live(t, key))
	w := e.gh.send(t, e.h, e.keyID, []byte(`[]`))
	assert.JSONEq(t, `[]`, w.Body.String(), "an empty report is a report")
}

// A signed report replayed, or sent again by GitHub, revokes nothing more,
// does not tell the host again, and labels the tokens as before.
func TestReplayedReport(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	key, _ := e.issue(t, "42", 0)
	other, _ := e.issue(t, "43", 0)
	body := reportBody(t, found(key))
	sig := e.gh.sign(t, e.keyID, body)

	first := readFeedback(t, post(e.h, e.keyID, sig, body))
	again := readFeedback(t, post(e.h, e.keyID, sig, body))
	assert.Equal(t, first, again)
	assert.Equal(t, "true_positive", again[0].Label)
	assert.Len(t, e.leaked(), 1)
	assert.True(t, e.live(t, other), "nothing else is revoked")

	// After a day the Handler forgets it revoked the token.
	e.clock.Advance(24 * time.Hour)
	later := readFeedback(t, e.gh.send(t, e.h, e.keyID, body))
	assert.Equal(t, "false_positive", later[0].Label)
}

// Two copies of one report at once revoke each token once and tell the
// host once.
func TestConcurrentReports(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	var keys []map[string]string
	for range 50 {
		key, _ := e.issue(t, "42", 0)
		keys = append(keys, found(key))
	}
	body := reportBody(t, keys...)
	sig := e.gh.sign(t, e.keyID, body)
	var wg sync.WaitGroup
	answers := make([][]feedback, 4)
	for i := range answers {
		wg.Go(func() { answers[i] = readFeedback(t, post(e.h, e.keyID, sig, body)) })
	}
	wg.Wait()
	for _, fb := range answers {
		require.Len(t, fb, 50)
		for _, f := range fb {
			assert.Equal(t, "true_positive", f.Label)
		}
	}
	assert.Len(t, e.leaked(), 50, "one OnLeak per token")
}

// When the store cannot answer, GitHub is asked to retry, and the retry
// completes the work.
func TestStoreOutage(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	key, _ := e.issue(t, "42", 0)
	body := reportBody(t, found(key))
	e.store.SetErr(errors.New("database down"))
	w := e.gh.send(t, e.h, e.keyID, body)
	assert.Equal(t, 503, w.Code)
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	e.store.SetErr(nil)
	assert.True(t, e.live(t, key))

	fb := readFeedback(t, e.gh.send(t, e.h, e.keyID, body))
	assert.Equal(t, "true_positive", fb[0].Label)
	assert.False(t, e.live(t, key))
}

// The key list is fetched once, then served from memory; a new key is
// fetched when a report names it, a retired one refused once the list
// is checked again, and If-None-Match keeps checks cheap.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	old := e.keyID
	report := func(id string) int {
		key, _ := e.issue(t, "42", 0)
		return e.gh.send(t, e.h, id, reportBody(t, found(key))).Code
	}
	assert.Equal(t, 200, report(old))
	assert.Equal(t, 200, report(old))
	assert.Equal(t, 1, secretscan.KeyFetches(e.h), "fetched once")

	// GitHub lists a new key and signs with it.
	next := e.gh.newKey(t, true)
	assert.Equal(t, 200, report(next), "an unknown ID fetches the list again")
	assert.Equal(t, 2, secretscan.KeyFetches(e.h))

	// GitHub retires the old key. Until the hourly check it still
	// verifies (a report it signed may be in flight); the check runs in
	// the background, then the old key is refused.
	e.gh.setListed(next)
	assert.Equal(t, 200, report(old))
	e.clock.Advance(time.Hour)
	assert.Equal(t, 200, report(old), "known: answered at once while the list is checked")
	assert.Eventually(t, func() bool { return report(old) == 401 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 200, report(next))

	// An hour later, the unchanged list costs a 304.
	before := e.gh.notModified.Load()
	e.clock.Advance(time.Hour)
	assert.Equal(t, 200, report(next))
	assert.Eventually(t, func() bool { return e.gh.notModified.Load() == before+1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 200, report(next))
	assert.LessOrEqual(t, secretscan.KeyFetches(e.h), 5, "three hours, two rotations: a handful of fetches")
}

// Reports naming made-up key IDs fetch the list at most once a minute.
func TestUnknownKeysRateLimited(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	key, _ := e.issue(t, "42", 0)
	body := reportBody(t, found(key))
	require.Equal(t, 200, e.gh.send(t, e.h, e.keyID, body).Code)
	for range 100 {
		assert.Equal(t, 401, post(e.h, strings.Repeat("f", 64), "c2lnbmF0dXJl", body).Code)
	}
	assert.Equal(t, 2, secretscan.KeyFetches(e.h), "the first made-up ID fetches; the next 99 within the minute do not")
	e.clock.Advance(time.Minute)
	post(e.h, strings.Repeat("f", 64), "c2lnbmF0dXJl", body)
	assert.Equal(t, 3, secretscan.KeyFetches(e.h))
	// Unsigned requests never cost a fetch.
	for range 100 {
		assert.Equal(t, 401, post(e.h, strings.Repeat("e", 64), "", body).Code)
	}
	assert.Equal(t, 3, secretscan.KeyFetches(e.h))
}

// Until GitHub's list can be fetched, reports get 503 so that GitHub
// retries; the list is tried again a minute later, not on each request.
func TestKeysUnavailable(t *testing.T) {
	e := newEnv(t, secretscan.Options{})
	e.gh.setFail(true)
	key, _ := e.issue(t, "42", 0)
	body := reportBody(t, found(key))
	for range 10 {
		w := e.gh.send(t, e.h, e.keyID, body)
		assert.Equal(t, 503, w.Code)
		assert.Equal(t, "60", w.Header().Get("Retry-After"))
	}
	assert.Equal(t, 1, secretscan.KeyFetches(e.h))
	assert.True(t, e.live(t, key))

	e.gh.setFail(false)
	e.clock.Advance(time.Minute)
	readFeedback(t, e.gh.send(t, e.h, e.keyID, body))
	assert.False(t, e.live(t, key))

	// Once fetched, the list outlives GitHub's outages.
	e.gh.setFail(true)
	e.clock.Advance(2 * time.Hour)
	key, _ = e.issue(t, "42", 0)
	readFeedback(t, e.gh.send(t, e.h, e.keyID, reportBody(t, found(key))))
}

func TestNewOptions(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	for name, opts := range map[string]secretscan.Options{
		"relative KeysURL":      {KeysURL: "/keys"},
		"negative MaxBodyBytes": {MaxBodyBytes: -1},
	} {
		_, err := secretscan.New(auth, opts)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, name)
	}
	_, err := secretscan.New(nil, secretscan.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	_, err = secretscan.New(auth, secretscan.Options{})
	assert.NoError(t, err, "the zero Options are GitHub's")
}
