package reliability

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
)

const (
	// storeTimeout is the service's Options.StoreTimeout.
	storeTimeout = 300 * time.Millisecond
	// retryAfter is the service's Options.RetryAfter, sent with every 503.
	retryAfter = 2 * time.Second
	// slack is what a request may take beyond its store calls' deadlines:
	// HTTP on loopback and scheduling under the race detector on a busy
	// two-core machine. A client that ignored the deadline would wait for
	// its own timeout (go-redis: 3 s) or, black-holed, for ever.
	slack = 700 * time.Millisecond
	// maxRecovery bounds the time from the link's return, or the
	// database's own recovery if it comes later, to requests succeeding
	// again.
	maxRecovery = time.Second
	// grace is how long after a change requests begun before it may still
	// see the previous state.
	grace = 100 * time.Millisecond
	// loadWorkers send requests back to back.
	loadWorkers = 4
)

// state is what requests must get after a step of an outage test.
type state int

const (
	up         state = iota // every request succeeds
	down                    // every request gets 503 within the store timeout
	recovering              // requests succeed again within maxRecovery
)

// step is one change to the link and the state it must lead to.
type step struct {
	name  string
	state state
	at    time.Time // when the change was made
	// until is when the next change began; requests still running then
	// are only checked for what holds at all times.
	until time.Time
	// ready is, for a recovering step, how long after the change the
	// database served a fresh connection, bypassing the proxy, within
	// readyWithin.
	ready time.Duration
}

// result is one request's outcome.
type result struct {
	start, end time.Time
	status     int
	retryAfter string
	body       string
	err        error
}

func (r result) took() time.Duration { return r.end.Sub(r.start) }

// load sends requests with the given keys from loadWorkers goroutines
// until stopped.
type load struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []result
}

func startLoad(url string, keys []string) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	client := &http.Client{
		// Far beyond any bound the test checks: a request that hangs is
		// recorded as failed instead of stalling the test.
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers},
	}
	for w := 0; w < loadWorkers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ctx.Err() == nil; i += loadWorkers {
				r := send(client, url, keys[i%len(keys)])
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func send(client *http.Client, url, key string) result {
	r := result{start: time.Now()}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err == nil {
		req.Header.Set("Authorization", "Token "+key)
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			r.status, r.retryAfter, r.body = resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
		}
	}
	r.err, r.end = err, time.Now()
	return r
}

func (l *load) stop() []result {
	l.cancel()
	l.wg.Wait()
	return l.results
}

// TestOutage runs an HTTP service over PostgreSQL or Redis through a proxy
// and breaks the link under load: cut (the server goes away), black-holed
// (packets vanish), slowed below and above the store timeout. During each
// fault every request gets 503 with Retry-After within the store timeout,
// never 401 or 500; after each, requests succeed again within a second
// (of the database serving fresh connections again, measured apart, when
// that comes later: on a loaded machine PostgreSQL can take longer);
// at the end every token issued before the outage authenticates with the
// record it was issued with.
func TestOutage(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.get(t)
			proxy := proxied(t, b)
			var logs logBuffer
			auth, err := tokenauth.New(b.open(t, proxy.Addr()), tokenauth.Options{
				StoreTimeout: storeTimeout,
				RetryAfter:   retryAfter,
				DefaultTTL:   24 * time.Hour,
				Logger:       newLogger(&logs),
			})
			require.NoError(t, err)
			srv := httptest.NewServer(auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, _ := tokenauth.FromContext(r.Context())
				io.WriteString(w, tok.ID)
			})))
			t.Cleanup(srv.Close)

			ctx := context.Background()
			const users, perUser = 4, 8
			var keys []string
			issued := map[string]*tokenauth.Token{}
			for i := 0; i < users*perUser; i++ {
				key, tok, err := auth.Issue(ctx, fmt.Sprintf("user-%d", i%users), tokenauth.IssueOptions{Name: "outage", Scopes: []string{"read"}})
				require.NoError(t, err)
				keys = append(keys, key)
				issued[key] = tok
			}

			l := startLoad(srv.URL, keys)
			var steps []step
			change := func(name string, s state, f func(), d time.Duration) {
				if n := len(steps); n > 0 {
					steps[n-1].until = time.Now()
				}
				f()
				st := step{name: name, state: s, at: time.Now()}
				if s == recovering {
					// The database's own recovery is measured apart: on a
					// loaded machine PostgreSQL may take longer to start
					// the backends of the connections the pool dials
					// again than the store timeout allows them.
					st.ready = databaseReady(b, st.at).Sub(st.at)
					d = max(d, st.ready+maxRecovery+200*time.Millisecond)
				}
				steps = append(steps, st)
				time.Sleep(time.Until(st.at.Add(d)))
			}
			change("healthy", up, func() {}, 500*time.Millisecond)
			change("cut", down, proxy.Cut, time.Second)
			ictx, cancel := context.WithTimeout(ctx, time.Second)
			_, _, err = auth.Issue(ictx, "user-0", tokenauth.IssueOptions{})
			cancel()
			assert.ErrorIs(t, err, tokenauth.ErrUnavailable, "Issue while the store is cut off")
			change("restored after the cut", recovering, proxy.Restore, 1200*time.Millisecond)
			change("black hole", down, proxy.Blackhole, time.Second)
			change("restored after the black hole", recovering, proxy.Restore, 1200*time.Millisecond)
			change("latency below the store timeout", up, func() { proxy.SetLatency(storeTimeout / 30) }, 800*time.Millisecond)
			change("latency above the store timeout", down, func() { proxy.SetLatency(2 * storeTimeout) }, time.Second)
			change("latency removed", recovering, func() { proxy.SetLatency(0) }, 1200*time.Millisecond)
			steps[len(steps)-1].until = time.Now()
			results := l.stop()

			checkSteps(t, steps, results, issued)

			// No token was lost or altered.
			for _, key := range keys {
				p, err := auth.Verify(ctx, key)
				if !assert.NoError(t, err, "a token issued before the outage") {
					continue
				}
				want, got := issued[key], p.Token
				assert.Equal(t, []any{want.ID, want.UserID, want.Name, want.Scopes, want.Digest},
					[]any{got.ID, got.UserID, got.Name, got.Scopes, got.Digest})
				assert.True(t, got.CreatedAt.Equal(want.CreatedAt), "CreatedAt %v, want %v", got.CreatedAt, want.CreatedAt)
				assert.True(t, got.ExpiresAt.Equal(want.ExpiresAt), "ExpiresAt %v, want %v", got.ExpiresAt, want.ExpiresAt)
			}
			for u := 0; u < users; u++ {
				list, err := auth.List(ctx, fmt.Sprintf("user-%d", u))
				require.NoError(t, err)
				assert.Len(t, list, perUser, "user-%d's tokens", u)
			}

			// The outage was logged, without secrets.
			out := logs.String()
			assert.Contains(t, out, "tokenauth: store failure")
			for key, tok := range issued {
				assert.NotContains(t, out, key)
				assert.NotContains(t, out, hex.EncodeToString(tok.Digest))
				assert.NotContains(t, out, string(tok.Digest))
			}
		})
	}
}

// checkSteps checks each request against the step it began in, and logs
// each step's figures.
func checkSteps(t *testing.T, steps []step, results []result, issued map[string]*tokenauth.Token) {
	t.Helper()
	ids := map[string]bool{}
	for _, tok := range issued {
		ids[tok.ID] = true
	}
	byStep := make([][]result, len(steps))
	for _, r := range results {
		i := len(steps) - 1
		for i > 0 && r.start.Before(steps[i].at) {
			i--
		}
		byStep[i] = append(byStep[i], r)
	}
	for i, s := range steps {
		var judged, unavailable int
		var longest time.Duration
		var lastFailure time.Time
		for _, r := range byStep[i] {
			// What holds at all times: an answer, 200 or 503, a 503 with
			// Retry-After, and no request outliving its two store calls
			// (find and touch), each bounded by the store timeout.
			if !assert.NoError(t, r.err, "%s: a request failed", s.name) {
				continue
			}
			switch r.status {
			case http.StatusOK:
				assert.True(t, ids[r.body], "%s: the answer names a token that was not issued: %q", s.name, r.body)
			case http.StatusServiceUnavailable:
				if r.end.Before(s.until) {
					unavailable++
				}
				assert.Equal(t, fmt.Sprint(int(retryAfter/time.Second)), r.retryAfter, "%s: Retry-After of a 503", s.name)
			default:
				assert.Fail(t, "unexpected status", "%s: status %d: %s", s.name, r.status, r.body)
			}
			longest = max(longest, r.took())
			assert.LessOrEqual(t, r.took(), 2*storeTimeout+slack, "%s: a request outlived its store calls' timeouts", s.name)

			// What the step leads to, for requests that ran within it.
			if !r.end.Before(s.until) || s.state != recovering && r.start.Sub(s.at) < grace {
				continue
			}
			judged++
			since := r.start.Sub(s.at).Round(time.Millisecond)
			switch s.state {
			case up:
				assert.Equal(t, http.StatusOK, r.status, "%s: a request begun %s after the change", s.name, since)
			case down:
				assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s: a request begun %s after the change", s.name, since)
				assert.LessOrEqual(t, r.took(), storeTimeout+slack, "%s: a request outlived the store timeout", s.name)
			case recovering:
				if r.status != http.StatusOK && r.start.After(lastFailure) {
					lastFailure = r.start
				}
			}
		}
		assert.GreaterOrEqual(t, judged, 4, "%s: too few requests to judge", s.name)
		note := ""
		if s.state == recovering {
			// Recovery ends with the first success begun after the last
			// failure.
			recovered := time.Duration(-1)
			for _, r := range byStep[i] {
				if r.err == nil && r.status == http.StatusOK && r.start.After(lastFailure) && r.end.Before(s.until) &&
					(recovered < 0 || r.end.Sub(s.at) < recovered) {
					recovered = r.end.Sub(s.at)
				}
			}
			if assert.GreaterOrEqual(t, recovered, time.Duration(0), "%s: no request succeeded", s.name) {
				assert.LessOrEqual(t, recovered, s.ready+maxRecovery, "%s: recovery took too long, %s after the database's", s.name, ms(recovered-s.ready))
			}
			note = fmt.Sprintf(", recovered in %s (the database in %s)", ms(recovered), ms(s.ready))
		}
		t.Logf("%-32s %4d requests, %4d answered 503 before the next step, longest %6s%s", s.name+":", len(byStep[i]), unavailable,
			longest.Round(time.Millisecond), note)
	}
}
