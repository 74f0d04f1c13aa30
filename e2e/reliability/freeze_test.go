package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

const (
	// freezeTimeout is the frozen services' Options.StoreTimeout and
	// login.Options.Timeout.
	freezeTimeout = 500 * time.Millisecond
	// freezeBound is the issue's bound on every answer during a freeze.
	freezeBound = freezeTimeout + time.Second
	// unwatchedAfter is how long after its last confirmation a cache
	// stops trusting its subscription to revocations (cachestore's
	// aliveFor): a freeze stops confirmations as it stops everything.
	unwatchedAfter = 3 * time.Second
	// thawBound is how soon after the freeze every read and login
	// succeeds, once the database itself serves new connections again.
	thawBound = time.Second
	// readyWithin is how fast a fresh connection straight to the
	// database, bypassing the proxy, must connect and answer for the
	// database to count as recovered.
	readyWithin = 100 * time.Millisecond
	// thawGiveUp ends the retries after the freeze.
	thawGiveUp = 10 * time.Second
)

// frozenService is one configuration of the service under test.
type frozenService struct {
	name   string
	cache  bool // a cachestore in front of the store
	loader bool // a UserLoader that reads the database
}

var frozenServices = []frozenService{
	{"no cache", false, true},
	{"cache+loader", true, true},
	{"cache, no loader", true, false},
}

// freezeCase is one request sent while the database is frozen.
type freezeCase struct {
	name   string
	method string
	path   string
	// cached has the service cache the token before the freeze (when it
	// has a cache).
	cached bool
	// login sends credentials instead of a token.
	login bool
	// after is the status once the database is back.
	after int
}

var freezeCases = []freezeCase{
	{name: "protected, uncached token", method: http.MethodGet, path: "/api/me/", after: http.StatusOK},
	{name: "protected, cached token", method: http.MethodGet, path: "/api/me/", cached: true, after: http.StatusOK},
	{name: "login", method: http.MethodPost, path: "/api-token-auth/", login: true, after: http.StatusOK},
	{name: "logout", method: http.MethodPost, path: "/api/logout/", cached: true, after: http.StatusNoContent},
	{name: "logoutall", method: http.MethodPost, path: "/api/logoutall/", cached: true, after: http.StatusNoContent},
	{name: "rotate", method: http.MethodPost, path: "/api/rotate/", cached: true, after: http.StatusOK},
}

// freezeWave is a round of requests sent during the freeze.
type freezeWave struct {
	// at is when, after the freeze began.
	at time.Duration
	// all sends every request; otherwise only those a cache may answer
	// from memory, whose answer changes while the freeze lasts.
	all bool
}

// freezeWaves: the first finds the pools' connections open and silent,
// the second dials new connections that the frozen server accepts and
// never answers; the last comes after every cache has stopped trusting
// its subscription to revocations, which froze too. Waves after the
// second send only what a cache may answer: each connection dialed during
// the freeze costs the database a backend to start once it thaws.
var freezeWaves = []freezeWave{{0, true}, {time.Second, true}, {2 * time.Second, false}, {unwatchedAfter + 200*time.Millisecond, false}}

// fromMemory reports whether the service may answer the request from its
// cache alone: a cached token, and nothing else to load.
func (c freezeCase) fromMemory(s frozenService) bool {
	return c.method == http.MethodGet && c.cached && s.cache && !s.loader
}

// during is what a request sent during the freeze, at since after it
// began, may get: 503, except a request the service may answer from
// memory. That one gets 200 while its cache can still trust that it
// would have heard of a revocation: at once, and no longer than
// unwatchedAfter; in between either, as the cache may notice the frozen
// subscription sooner.
func (c freezeCase) during(s frozenService, since time.Duration) []int {
	if !c.fromMemory(s) {
		return []int{http.StatusServiceUnavailable}
	}
	switch {
	case since == 0:
		return []int{http.StatusOK}
	case since < unwatchedAfter:
		return []int{http.StatusOK, http.StatusServiceUnavailable}
	}
	return []int{http.StatusServiceUnavailable}
}

// freezeRequest is a case as sent to one service.
type freezeRequest struct {
	service frozenService
	c       freezeCase
	base    string // the service's URL
	key     string // the token, or the username to log in
	// afterKey is the token (username) for the request after the freeze.
	afterKey string
	// took and status are the answers during the freeze, wave by wave;
	// thaw is when the request after it succeeded, from the thaw.
	took   []time.Duration
	status []int
	thaw   time.Duration
}

// TestFreeze puts PostgreSQL or Redis behind a proxy that freezes:
// connections stay open and new ones are accepted, but no byte moves, as
// when the database hangs. Three services share the proxy: without a
// cache, with a cache and a UserLoader that reads the database, and with
// a cache alone. While frozen, every protected, login, logout, logout-all
// and rotate request answers 503 with Retry-After within StoreTimeout + 1
// s, never 401 or a hang; only a cached token on the service that needs no
// database answers 200, from memory, and only while its cache can trust
// its subscription to revocations, which froze too: 3 s after the last
// confirmation it gets 503 like the rest, since a revocation made
// meanwhile would not have reached the cache. Once the freeze ends, reads
// and logins succeed again within a second, and then each revocation at
// its first attempt.
func TestFreeze(t *testing.T) {
	for _, be := range backends {
		// One at a time: the figures are the issue's.
		t.Run(be.name, func(t *testing.T) {
			b := be.get(t)
			proxy := proxied(t, b)
			ctx := context.Background()
			// Tokens are issued over a direct connection, so that no
			// service has them cached unless the test asks it.
			admin, err := tokenauth.New(b.open(t, b.target), tokenauth.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { admin.Close() })

			// Each request gets a user and token of its own for the
			// freeze, and another for after it: a revocation answered 503
			// may still take effect once the database thaws, as the
			// command it sent arrives then.
			var reqs []*freezeRequest
			for _, s := range frozenServices {
				srv := startFrozenService(t, b, proxy.Addr(), s)
				for _, c := range freezeCases {
					if c.cached && c.method == http.MethodGet && !s.cache {
						continue // the same as an uncached token
					}
					user := strings.NewReplacer(" ", "-", ",", "", "+", "-").Replace(s.name + "." + c.name)
					r := &freezeRequest{service: s, c: c, base: srv, key: user, afterKey: user + ".after"}
					if !c.login {
						r.key = issueFrozen(t, b, admin, user)
						r.afterKey = issueFrozen(t, b, admin, user+".after")
					}
					reqs = append(reqs, r)
				}
			}
			// A token's first use is written in the background within a
			// second, and the write drops its cache entry; the next use
			// caches it until the write a minute later, as for a token in
			// steady use.
			for pass := range 2 {
				if pass > 0 {
					time.Sleep(1500 * time.Millisecond)
				}
				for _, r := range reqs {
					if r.c.cached && r.service.cache {
						for _, key := range []string{r.key, r.afterKey} {
							status, _, _ := sendFreeze(r.base+"/api/me/", http.MethodGet, key, false)
							require.Equal(t, http.StatusOK, status, "%s: %s: warming the cache", r.service.name, r.c.name)
						}
					}
				}
			}

			proxy.Freeze()
			frozen := time.Now()
			for wave, fw := range freezeWaves {
				time.Sleep(time.Until(frozen.Add(fw.at)))
				var wg sync.WaitGroup
				for _, r := range reqs {
					if !fw.all && !r.c.fromMemory(r.service) {
						continue
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						start := time.Now()
						status, retryAfter, err := sendFreeze(r.base+r.c.path, r.c.method, r.key, r.c.login)
						took := time.Since(start)
						r.took, r.status = append(r.took, took), append(r.status, status)
						what := fmt.Sprintf("frozen, wave %d: %s: %s", wave+1, r.service.name, r.c.name)
						if !assert.NoError(t, err, what) {
							return
						}
						assert.Contains(t, r.c.during(r.service, fw.at), status, what)
						if status == http.StatusServiceUnavailable {
							assert.Equal(t, "2", retryAfter, "%s: Retry-After", what)
						}
						assert.LessOrEqual(t, took, freezeBound, what)
					}()
				}
				wg.Wait()
			}

			// After the freeze the clients that waited come back together.
			// The reads and logins, all at once, succeed within thawBound
			// of the database's own recovery; each is retried on a 503.
			// The database first starts a backend for every connection
			// dialed during the freeze (about a hundred here): 0.2-0.5 s
			// on a quiet machine, over a second on a loaded one, when it
			// serves no new connection, so its recovery is measured apart,
			// by fresh connections that bypass the proxy. Then the
			// revocations, which cannot be retried (one answered 503 may
			// have taken effect), succeed at their first attempt.
			proxy.Restore()
			thawed := time.Now()
			ready := make(chan time.Time, 1)
			go func() { ready <- databaseReady(b, thawed) }()
			var firstTry int
			var mu sync.Mutex
			thaw := func(retry bool) {
				var wg sync.WaitGroup
				for _, r := range reqs {
					if retry != (r.c.method == http.MethodGet || r.c.login) {
						continue
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						what := fmt.Sprintf("after the freeze: %s: %s", r.service.name, r.c.name)
						for attempt := 1; ; attempt++ {
							status, _, err := sendFreeze(r.base+r.c.path, r.c.method, r.afterKey, r.c.login)
							r.thaw = time.Since(thawed)
							if !assert.NoError(t, err, what) {
								return
							}
							if status == r.c.after {
								if attempt == 1 {
									mu.Lock()
									firstTry++
									mu.Unlock()
								}
								return
							}
							if !retry || status != http.StatusServiceUnavailable || r.thaw > thawGiveUp {
								assert.Equal(t, r.c.after, status, "%s, attempt %d, %s after the freeze", what, attempt, ms(r.thaw))
								return
							}
							time.Sleep(20 * time.Millisecond)
						}
					}()
				}
				wg.Wait()
			}
			thaw(true)
			recovered := time.Since(thawed)
			dbReady := (<-ready).Sub(thawed)
			assert.LessOrEqual(t, recovered, dbReady+thawBound, "reads and logins succeeded again, %s after the database served new connections again", ms(recovered-dbReady))
			thaw(false)
			revoked := time.Since(thawed)

			// Which of the revocations answered 503 took effect after all.
			var revocations, landed int
			for _, r := range reqs {
				if r.c.method != http.MethodPost || r.c.login {
					continue
				}
				revocations++
				_, err := admin.Verify(ctx, r.key)
				if err != nil {
					require.ErrorIs(t, err, tokenauth.ErrInvalidToken)
					landed++
				}
			}

			for _, r := range reqs {
				var parts []string
				for i := range r.took {
					parts = append(parts, fmt.Sprintf("%d in %s", r.status[i], ms(r.took[i])))
				}
				t.Logf("freeze %s %-16s %-26s %s; after: %d in %s", b.name, r.service.name+":", r.c.name+":",
					strings.Join(parts, ", "), r.c.after, ms(r.thaw))
			}
			t.Logf("freeze %s: held %s; after Restore, the database served a fresh connection within %s after %s, reads and logins succeeded again within %s, revocations within %s; %d of the %d kinds at the first attempt",
				b.name, ms(thawed.Sub(frozen)), readyWithin, ms(dbReady), ms(recovered), ms(revoked), firstTry, len(reqs))
			t.Logf("freeze %s: %d of the %d tokens whose logout, logout-all or rotation answered 503 were revoked once the database thawed",
				b.name, landed, revocations)
		})
	}
}

// databaseReady probes b's server straight, bypassing the proxy, with a
// fresh connection every 20 ms from since, and returns when the first
// probe began that connected and answered within readyWithin (or since
// plus thawGiveUp).
func databaseReady(b backend, since time.Time) time.Time {
	for start := since; start.Before(since.Add(thawGiveUp)); start = time.Now() {
		ctx, cancel := context.WithTimeout(context.Background(), thawGiveUp)
		err := b.probe(ctx)
		cancel()
		if err == nil && time.Since(start) <= readyWithin {
			return start
		}
		time.Sleep(20 * time.Millisecond)
	}
	return since.Add(thawGiveUp)
}

// issueFrozen adds a user and issues a token to it, over a direct
// connection.
func issueFrozen(t *testing.T, b backend, admin *tokenauth.Authenticator, user string) string {
	t.Helper()
	b.addUser(t, user)
	key, _, err := admin.Issue(context.Background(), user, tokenauth.IssueOptions{})
	require.NoError(t, err)
	return key
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// startFrozenService runs the service over the store reached through
// addr, configured as s says, and returns its URL.
func startFrozenService(t *testing.T, b backend, addr string, s frozenService) string {
	t.Helper()
	store := b.open(t, addr)
	var stats func() any
	if s.cache {
		_, watcher := store.(cachestore.Watcher)
		subscribed := make(chan struct{})
		var once sync.Once
		cache, err := cachestore.New(store, cachestore.Options{
			Logger: newLogger(&logBuffer{}),
			OnWatch: func(watching bool, _ error) {
				if watching {
					once.Do(func() { close(subscribed) })
				}
			},
		})
		require.NoError(t, err)
		t.Cleanup(func() { cache.Close() })
		if watcher {
			// Subscribing drops every entry: warm the cache after it.
			select {
			case <-subscribed:
			case <-time.After(15 * time.Second):
				t.Fatalf("%s: the cache did not subscribe to the store's revocations", s.name)
			}
		}
		stats = func() any { return cache.Stats() }
		store = cache
	}
	opts := tokenauth.Options{StoreTimeout: freezeTimeout, RetryAfter: 2 * time.Second, Logger: newLogger(&logBuffer{})}
	if s.loader {
		opts.UserLoader = b.loader(t, addr)
	}
	auth, err := tokenauth.New(store, opts)
	require.NoError(t, err)
	t.Cleanup(func() { auth.Close() })
	lh, err := login.New(auth, service.Checker(0), login.Options{Limiter: login.NoLimit, Timeout: freezeTimeout, Logger: newLogger(&logBuffer{})})
	require.NoError(t, err)
	srv := httptest.NewServer(service.Routes(auth, lh, stats))
	t.Cleanup(srv.Close)
	return srv.URL
}

// freezeClient gives up far beyond the bound, so that a hang is a failure
// instead of a stuck test.
var freezeClient = &http.Client{Timeout: 10 * time.Second}

// sendFreeze sends one request: with key as a token, or as the username
// to log in with. It returns the status and the Retry-After header.
func sendFreeze(u, method, key string, asLogin bool) (int, string, error) {
	var body io.Reader
	if asLogin {
		body = strings.NewReader(url.Values{"username": {key}, "password": {service.Password}}.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if asLogin {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Authorization", "Token "+key)
	}
	resp, err := freezeClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), err
}
