package login_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		panicky, err := login.New(fx.auth, login.CredentialCheckerFunc(func(context.Context, string, string) (login.Grant, error) {
			panic("host bug")
		}), login.Options{Limiter: lim})
		require.NoError(t, err)
		assert.Panics(t, func() { loginAs(t, panicky, "", "john", password) })
		tokenOf(t, loginAs(t, fx.h, "", "john", password))
	})
}

// blockingChecker blocks until its context ends, as a checker over a hung
// database does.
var blockingChecker = login.CredentialCheckerFunc(func(ctx context.Context, _, _ string) (login.Grant, error) {
	<-ctx.Done()
	return login.Grant{}, fmt.Errorf("querying users: %w", ctx.Err())
})

// blockingStore hangs on Create and List until the context ends.
type blockingStore struct{ tokenauth.Store }

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
	hungStore, err := tokenauth.New(blockingStore{memstore.New()}, tokenauth.Options{Logger: discardLogger})
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
	checker := login.CredentialCheckerFunc(func(ctx context.Context, u, p string) (login.Grant, error) {
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
// of the lines held back. The bubble's fake clock makes the second pass
// without waiting.
func TestOutageLogIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{Logger: discardLogger}, login.Options{Limiter: login.NoLimit})
		fx.users.setErr(errors.New("users db down while checking " + password))
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
			time.Sleep(50 * time.Millisecond)
		}
		require.Len(t, errorLines(), 1)
		assert.Contains(t, errorLines()[0], "users db down")
		assert.Contains(t, errorLines()[0], `op="login: credential check"`)
		assert.NotContains(t, errorLines()[0], "suppressed")

		time.Sleep(499 * time.Millisecond)
		loginAs(t, fx.h, "", "john", password)
		require.Len(t, errorLines(), 1, "still within the second")

		time.Sleep(time.Millisecond)
		loginAs(t, fx.h, "", "john", password)
		lines := errorLines()
		require.Len(t, lines, 2)
		assert.Contains(t, lines[1], "suppressed=10", "9 of the burst and one within the second")
		assert.NotContains(t, fx.logs.String(), password, "the password is masked")
		assert.Contains(t, lines[1], "[password]")
	})
}
