package introspection_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientEnv is a service with an introspection endpoint over HTTP, and
// a count of the calls the endpoint got.
type clientEnv struct {
	*fixture
	url   string
	calls atomic.Int32
	// endpoint, when set, answers instead of the real endpoint.
	endpoint atomic.Pointer[http.HandlerFunc]
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	e := &clientEnv{fixture: newFixture(t, tokenauth.Options{})}
	real := e.srv.IntrospectionHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		if h := e.endpoint.Load(); h != nil {
			(*h)(w, r)
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e.url = ts.URL + "/oauth/introspect"
	return e
}

// hold makes the endpoint wait to answer until the returned channel is
// closed.
func (e *clientEnv) hold() chan struct{} {
	release := make(chan struct{})
	real := e.srv.IntrospectionHandler()
	e.replace(func(w http.ResponseWriter, r *http.Request) {
		<-release
		real.ServeHTTP(w, r)
	})
	return release
}

// replace makes the endpoint answer with h.
func (e *clientEnv) replace(h http.HandlerFunc) { e.endpoint.Store(&h) }

// client returns a Client of the endpoint, authenticated as the gateway
// and sharing the service's clock, with o's other settings.
func (e *clientEnv) client(t *testing.T, o introspection.ClientOptions) *introspection.Client {
	t.Helper()
	if o.Token == "" && o.ClientID == "" {
		o.ClientID, o.ClientSecret = clientID, clientSecret
	}
	o.Now = e.clock.Now
	c, err := introspection.NewClient(e.url, o)
	require.NoError(t, err)
	return c
}

// whoami shows the token a handler finds in its context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, ok := tokenauth.FromContext(r.Context())
	if !ok {
		fmt.Fprint(w, "anonymous")
		return
	}
	fmt.Fprintf(w, "user=%s id=%s scopes=%v", tok.UserID, tok.ID, tok.Scopes)
})

func get(h http.Handler, authz ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/api/", nil)
	for _, a := range authz {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The Client's middleware answers every request as the Authenticator's
// own middleware does: same status, body, challenge and context.
func TestClientAnswersAsTheCore(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, introspection.ClientOptions{})
	live, _ := e.issue(t, "42", time.Hour, "read", "write")
	noScope, _ := e.issue(t, "42", 0)
	revoked, tok := e.issue(t, "42", 0, "read")
	require.NoError(t, e.auth.Revoke(context.Background(), tok.ID))
	other, _ := tokenauthtest.New(t, tokenauth.Options{})
	unknown := tokenauthtest.Issue(t, other, "42")

	headers := map[string][]string{
		"no credentials":       nil,
		"another scheme":       {"Bearer " + live},
		"keyword alone":        {"Token"},
		"key with spaces":      {"Token " + live + " x"},
		"key with a control":   {"Token a\x7fb"},
		"two headers":          {"Token " + live, "Token " + live},
		"junk key":             {"Token abc"},
		"unknown key":          {"Token " + unknown},
		"revoked key":          {"Token " + revoked},
		"live key":             {"Token " + live},
		"keyword in any case":  {"tOKEN " + live},
		"live key, no scope":   {"Token " + noScope},
		"unrelated and ours":   {"Basic Zm9vOmJhcg==", "Token " + live},
		"only unrelated twice": {"Basic Zm9vOmJhcg==", "Digest x"},
	}
	for name, h := range headers {
		for _, route := range []struct {
			name       string
			core, ours func(http.Handler) http.Handler
		}{
			{"Require", e.auth.Require(), c.Require()},
			{"Require(read)", e.auth.Require("read"), c.Require("read")},
			{"Optional", e.auth.Optional(), c.Optional()},
		} {
			t.Run(name+"/"+route.name, func(t *testing.T) {
				want := get(route.core(whoami), h...)
				got := get(route.ours(whoami), h...)
				assert.Equal(t, want.Code, got.Code)
				assert.Equal(t, want.Body.String(), got.Body.String())
				for _, k := range []string{"WWW-Authenticate", "Content-Type", "X-Content-Type-Options"} {
					assert.Equal(t, want.Header().Get(k), got.Header().Get(k), k)
				}
			})
		}
	}
}

// What the Client puts in the context is what the endpoint knows of the
// token.
func TestClientToken(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, introspection.ClientOptions{})
	key, want := e.issue(t, "42", time.Hour, "read", "write")
	got, err := c.Verify(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, "42", got.UserID)
	assert.Equal(t, []string{"read", "write"}, got.Scopes)
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt))
	assert.True(t, want.ExpiresAt.Truncate(time.Second).Equal(got.ExpiresAt), "exp has whole seconds")

	_, err = c.Verify(context.Background(), strings.Repeat("a", 513))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = c.Verify(context.Background(), "")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	assert.EqualValues(t, 1, e.calls.Load(), "keys that cannot be tokens are not sent")
}

// The Client may authenticate with a token carrying the endpoint's scope
// instead of a client secret.
func TestClientTokenCredentials(t *testing.T) {
	e := newClientEnv(t)
	gw, _ := e.issue(t, "gw", 0, "introspect")
	c := e.client(t, introspection.ClientOptions{Token: gw})
	key, _ := e.issue(t, "42", 0, "read")
	w := get(c.Require("read")(whoami), "Token "+key)
	assert.Equal(t, 200, w.Code, w.Body.String())

	// Without the scope, the endpoint refuses the Client: that says
	// nothing about the client's token, so it is an outage.
	weak, _ := e.issue(t, "gw", 0)
	c = e.client(t, introspection.ClientOptions{Token: weak})
	w = get(c.Require()(whoami), "Token "+key)
	assert.Equal(t, 503, w.Code)
}

// Whatever goes wrong with the endpoint, clients get 503 with Retry-After,
// never 401, and never a cached failure.
func TestClientOutages(t *testing.T) {
	for name, tc := range map[string]struct {
		opts     introspection.ClientOptions
		endpoint http.HandlerFunc
		setup    func(e *clientEnv)
	}{
		"store outage at the endpoint": {setup: func(e *clientEnv) { e.store.SetErr(errors.New("database down")) }},
		"endpoint fails": {endpoint: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}},
		"endpoint refuses the client": {opts: introspection.ClientOptions{ClientID: clientID, ClientSecret: "wrong"}},
		"endpoint too slow": {opts: introspection.ClientOptions{Timeout: 50 * time.Millisecond}, endpoint: func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client hanging up once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}},
		"a proxy's error page": {endpoint: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html>Bad gateway</html>")
		}},
		"an answer without active": {endpoint: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"sub":"42"}`)
		}},
		"an answer too long": {endpoint: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"active":true,"sub":"%s"}`, strings.Repeat("x", 70<<10))
		}},
		"a redirect": {endpoint: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newClientEnv(t)
			var logs bytes.Buffer
			tc.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c := e.client(t, tc.opts)
			if tc.endpoint != nil {
				e.replace(tc.endpoint)
			}
			key, _ := e.issue(t, "42", 0, "read")
			if tc.setup != nil {
				tc.setup(e)
			}
			for i := range 2 {
				w := get(c.Require()(whoami), "Token "+key)
				assert.Equal(t, 503, w.Code)
				assert.Equal(t, "5", w.Header().Get("Retry-After"))
				assert.JSONEq(t, `{"detail":"Authentication service temporarily unavailable, try again later."}`, w.Body.String())
				assert.EqualValues(t, i+1, e.calls.Load(), "outages are not cached")
			}
			assert.NotEmpty(t, logs.String(), "the failure is logged")
			assert.NotContains(t, logs.String(), key, "never the key")
		})
	}

	t.Run("endpoint unreachable", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		c, err := introspection.NewClient(ts.URL, introspection.ClientOptions{ClientID: "a", ClientSecret: "b", Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		w := get(c.Require()(whoami), "Token abc")
		assert.Equal(t, 503, w.Code)
	})
}

// Active answers are reused for CacheTTL, never past the token's expiry;
// inactive ones for 2 seconds at most.
func TestClientCache(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, introspection.ClientOptions{})
	h := c.Require()(whoami)
	key, tok := e.issue(t, "42", 0, "read")

	require.Equal(t, 200, get(h, "Token "+key).Code)
	require.Equal(t, 200, get(h, "Token "+key).Code)
	assert.EqualValues(t, 1, e.calls.Load(), "the second request is answered from the cache")

	require.NoError(t, e.auth.Revoke(context.Background(), tok.ID))
	e.clock.Advance(9 * time.Second)
	assert.Equal(t, 200, get(h, "Token "+key).Code, "revocation is seen within CacheTTL, not at once")
	e.clock.Advance(time.Second)
	assert.Equal(t, 401, get(h, "Token "+key).Code, "after CacheTTL the endpoint is asked again")
	assert.EqualValues(t, 2, e.calls.Load())

	assert.Equal(t, 401, get(h, "Token "+key).Code)
	assert.EqualValues(t, 2, e.calls.Load(), "an inactive answer is cached too")
	e.clock.Advance(2 * time.Second)
	assert.Equal(t, 401, get(h, "Token "+key).Code)
	assert.EqualValues(t, 3, e.calls.Load(), "for 2 seconds")

	// A token expiring in 3 seconds is cached for 3 seconds, not 10.
	short, _ := e.issue(t, "42", 3*time.Second)
	calls := e.calls.Load()
	assert.Equal(t, 200, get(h, "Token "+short).Code)
	e.clock.Advance(2 * time.Second)
	assert.Equal(t, 200, get(h, "Token "+short).Code)
	assert.Equal(t, calls+1, e.calls.Load())
	e.clock.Advance(time.Second)
	assert.Equal(t, 401, get(h, "Token "+short).Code, "never past exp")
	assert.Equal(t, calls+2, e.calls.Load())

	// Without a cache, every request asks.
	nc := e.client(t, introspection.ClientOptions{CacheTTL: -1})
	calls = e.calls.Load()
	key2, _ := e.issue(t, "42", 0)
	for range 3 {
		assert.Equal(t, 200, get(nc.Require()(whoami), "Token "+key2).Code)
	}
	assert.Equal(t, calls+3, e.calls.Load())
}

// An answer active at the endpoint but expired by the Client's clock is
// refused: the earlier deadline wins.
func TestClientClockSkew(t *testing.T) {
	e := newClientEnv(t)
	key, _ := e.issue(t, "42", time.Minute)
	o := introspection.ClientOptions{ClientID: clientID, ClientSecret: clientSecret}
	o.Now = func() time.Time { return e.clock.Now().Add(2 * time.Minute) }
	c, err := introspection.NewClient(e.url, o)
	require.NoError(t, err)
	w := get(c.Require()(whoami), "Token "+key)
	assert.Equal(t, 401, w.Code)
	assert.JSONEq(t, `{"detail":"Token has expired."}`, w.Body.String())
}

// Concurrent misses for one key make one call to the endpoint.
func TestClientOneCallPerKey(t *testing.T) {
	e := newClientEnv(t)
	release := e.hold()
	c := e.client(t, introspection.ClientOptions{})
	key, _ := e.issue(t, "42", 0)
	h := c.Require()(whoami)
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i] = get(h, "Token "+key).Code })
	}
	time.Sleep(100 * time.Millisecond) // let most of them wait
	close(release)
	wg.Wait()
	for _, code := range codes {
		assert.Equal(t, 200, code)
	}
	assert.EqualValues(t, 1, e.calls.Load())
}

// A client that hangs up stops waiting, and the others waiting for the
// same key still get the answer.
func TestClientCallerGone(t *testing.T) {
	e := newClientEnv(t)
	release := e.hold()
	c := e.client(t, introspection.ClientOptions{})
	key, _ := e.issue(t, "42", 0)

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := c.Verify(ctx, key)
		first <- err
	}()
	second := make(chan error)
	go func() {
		_, err := c.Verify(context.Background(), key)
		second <- err
	}()
	cancel()
	assert.ErrorIs(t, <-first, tokenauth.ErrUnavailable)
	close(release)
	assert.NoError(t, <-second)
	assert.EqualValues(t, 1, e.calls.Load())
}

// The cache holds CacheSize answers at most, however many keys come.
func TestClientCacheBound(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, introspection.ClientOptions{CacheSize: 10})
	for i := range 100 {
		_, err := c.Verify(context.Background(), fmt.Sprintf("junk%d", i))
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
		assert.LessOrEqual(t, introspection.CacheLen(c), 10)
	}
	assert.Equal(t, 10, introspection.CacheLen(c))
}

// An outer Require's token is reused by an inner one, which only adds its
// scope check.
func TestClientNested(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, introspection.ClientOptions{CacheTTL: -1})
	key, _ := e.issue(t, "42", 0, "read")
	h := c.Require()(c.Require("read")(whoami))
	assert.Equal(t, 200, get(h, "Token "+key).Code)
	assert.EqualValues(t, 1, e.calls.Load())
	assert.Equal(t, 403, get(c.Require()(c.Require("admin")(whoami)), "Token "+key).Code)
}

func TestNewClientOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		url  string
		opts introspection.ClientOptions
	}{
		"relative URL":        {"/introspect", introspection.ClientOptions{ClientID: "a", ClientSecret: "b"}},
		"other scheme":        {"ftp://host/x", introspection.ClientOptions{ClientID: "a", ClientSecret: "b"}},
		"no credentials":      {"https://host/x", introspection.ClientOptions{}},
		"both credentials":    {"https://host/x", introspection.ClientOptions{ClientID: "a", ClientSecret: "b", Token: "t"}},
		"secret without ID":   {"https://host/x", introspection.ClientOptions{ClientSecret: "b"}},
		"token with a space":  {"https://host/x", introspection.ClientOptions{Token: "a b"}},
		"bad keyword":         {"https://host/x", introspection.ClientOptions{Token: "t", Keywords: []string{"To ken"}}},
		"negative CacheSize":  {"https://host/x", introspection.ClientOptions{Token: "t", CacheSize: -1}},
		"negative Timeout":    {"https://host/x", introspection.ClientOptions{Token: "t", Timeout: -1}},
		"negative RetryAfter": {"https://host/x", introspection.ClientOptions{Token: "t", RetryAfter: -1}},
	} {
		_, err := introspection.NewClient(tc.url, tc.opts)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, name)
	}
}
