package login_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parallel posts n logins to h at once, through a real server, each as
// client addr(i), and returns the responses' status codes and tokens.
func parallel(t *testing.T, h http.Handler, n int, addr func(i int) string, username, pw string) (codes []int, tokens []string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	ct, body := encodeJSON(t, credentials(username, pw))
	codes, tokens = make([]int, n), make([]string, n)
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
			req.Header.Set("Content-Type", ct)
			req.Header.Set("X-Test-Client", addr(i))
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			var out struct{ Token string }
			errs[i] = json.NewDecoder(resp.Body).Decode(&out)
			tokens[i] = out.Token
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return codes, tokens
}

func testClient(r *http.Request) string { return r.Header.Get("X-Test-Client") }

func oneAddress(int) string { return "192.0.2.1" }

// A client behind NAT, or a test suite, logs in many times at once: every
// login succeeds, each with its own working token. The checker takes a
// while, as a password hash does, so that the logins overlap.
func TestParallelCorrectLogins(t *testing.T) {
	const n, budget = 50, 5
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	users := newUsers()
	var inFlight, most atomic.Int32
	slow := login.CredentialCheckerFunc(func(ctx context.Context, username, pw string) (login.Grant, error) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		return users.CheckCredentials(ctx, username, pw)
	})
	// Every token is checked below: none may be trimmed by the default
	// bound on a user's login tokens.
	h, err := login.New(auth, slow, login.Options{ClientAddr: testClient, MaxTokensPerUser: -1})
	require.NoError(t, err)

	codes, tokens := parallel(t, h, n, oneAddress, "john", password)
	distinct := map[string]bool{}
	for i, key := range tokens {
		require.Equal(t, http.StatusOK, codes[i])
		assert.Equal(t, "1", mustVerify(t, auth, key).UserID)
		distinct[key] = true
	}
	assert.Len(t, distinct, n)
	assert.Len(t, userTokens(t, auth, "1"), n)
	assert.Equal(t, int32(budget), most.Load(), "the budget was full, and no fuller")
}

// A burst of parallel guesses cannot overrun the limit: attempts in
// flight count until they end, and those that waited for them are then
// refused.
func TestParallelGuesses(t *testing.T) {
	const n, limit = 40, 5
	clock := tokenauthtest.NewClock()
	var checked atomic.Int32
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	h, err := login.New(auth, login.CredentialCheckerFunc(func(context.Context, string, string) (login.Grant, error) {
		checked.Add(1)
		time.Sleep(10 * time.Millisecond) // long enough for the others to arrive
		return login.Grant{}, login.ErrBadCredentials
	}), login.Options{ClientAddr: testClient, Limiter: newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now})})
	require.NoError(t, err)

	codes, _ := parallel(t, h, n, oneAddress, "john", "guess")
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{http.StatusBadRequest: limit, http.StatusTooManyRequests: n - limit}, count)
	assert.Equal(t, int32(limit), checked.Load())

	clock.Advance(59 * time.Second)
	codes, _ = parallel(t, h, n, oneAddress, "john", "guess")
	assert.NotContains(t, codes, http.StatusBadRequest, "still the same minute")
	assert.Equal(t, int32(limit), checked.Load())
}

// An attempt waits for attempts in flight only so long, then gets 429.
func TestLimiterWaitIsBounded(t *testing.T) {
	const maxWait = 100 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 1)
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	h, err := login.New(auth, login.CredentialCheckerFunc(func(context.Context, string, string) (login.Grant, error) {
		entered <- struct{}{}
		<-release
		return login.Grant{}, login.ErrBadCredentials
	}), login.Options{Limiter: newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 1, MaxWait: maxWait})})
	require.NoError(t, err)

	go loginAs(t, h, "192.0.2.1:1", "john", "guess")
	<-entered
	start := time.Now()
	w := loginAs(t, h, "192.0.2.1:1", "john", "guess")
	assertThrottled(t, w, 1)
	assert.GreaterOrEqual(t, time.Since(start), maxWait)
	assert.Less(t, time.Since(start), maxWait+2*time.Second)
}
