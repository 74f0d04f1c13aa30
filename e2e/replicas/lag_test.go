package replicas

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/cachestore"
	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
)

// Environment variables naming the live servers.
const (
	envPostgres = "TOKENAUTH_TEST_POSTGRES_DSN"
	envMySQL    = "TOKENAUTH_TEST_MYSQL_DSN"
	envRedis    = "TOKENAUTH_TEST_REDIS_ADDR"
)

const (
	// revocations is how many tokens each store's run revokes, spread
	// evenly over the kinds.
	revocations = 200
	// notified bounds the p99 lag over stores that push revocations.
	notified = 100 * time.Millisecond
	// pollEvery is how often B is asked whether it still accepts a token.
	pollEvery = time.Millisecond
	// giveUp ends the wait for B's refusal: the cache's TTL is an hour.
	giveUp = 5 * time.Second
)

// store is a shared store both replicas run over.
type store struct {
	// args choose it on the replica's command line.
	args []string
	// cliRevoke deletes a token from a third process.
	cliRevoke func(t *testing.T, id string)
	// bound is what the p99 lag must stay under.
	bound time.Duration
}

var stores = []struct {
	name string
	get  func(t *testing.T, bins binaries) store
}{
	{"redis", redisStore},
}

func redisStore(t *testing.T, bins binaries) store {
	addr := os.Getenv(envRedis)
	if addr == "" {
		t.Skipf("Redis skipped: set %s to a Redis server's host:port, e.g. 127.0.0.1:6379", envRedis)
	}
	prefix := "tokenauth-replicas:" + randomHex(t, 6) + ":"
	admin := redis.NewClient(&redis.Options{Addr: addr})
	require.NoError(t, admin.Ping(context.Background()).Err(), "connecting to %s", envRedis)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := admin.Keys(ctx, "{"+prefix+"}*").Result()
		if err == nil && len(keys) > 0 {
			err = admin.Del(ctx, keys...).Err()
		}
		admin.Close()
		if err != nil {
			t.Errorf("deleting the test's keys: %v", err)
		}
	})
	args := []string{"-store", "redis", "-dsn", addr, "-prefix", prefix}
	return store{
		args: args,
		// The tokenauth CLI administers SQL stores only: an admin
		// process of the replica's own deletes through redisstore, whose
		// script publishes the revocation as any client's would.
		cliRevoke: func(t *testing.T, id string) {
			run(t, bins.replica, append(append([]string{"revoke"}, args...), id)...)
		},
		bound: notified,
	}
}

// kind is a way to revoke a token through A or from a third process.
type kind struct {
	name   string
	revoke func(t *testing.T, c *client, a string, key, id string)
}

var kinds = []kind{
	{"logout", func(t *testing.T, c *client, a, key, _ string) {
		require.Equal(t, http.StatusNoContent, c.do(t, http.MethodPost, a+"/api/logout/", key, nil, nil))
	}},
	{"logoutall", func(t *testing.T, c *client, a, key, _ string) {
		require.Equal(t, http.StatusNoContent, c.do(t, http.MethodPost, a+"/api/logoutall/", key, nil, nil))
	}},
	{"rotate", func(t *testing.T, c *client, a, key, _ string) {
		var r service.Rotated
		require.Equal(t, http.StatusOK, c.do(t, http.MethodPost, a+"/api/rotate/", key, nil, &r))
		require.NotEmpty(t, r.Token)
		c.rotated = r.Token
	}},
	{"cli revoke", nil}, // store.cliRevoke
}

// TestRevocationLag is the figure: see the package documentation.
func TestRevocationLag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the replicas")
	}
	bins := build(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := s.get(t, bins)
			args := append([]string{"-cache-ttl", "1h"}, st.args...)
			a := startReplica(t, bins.replica, "A", args...)
			b := startReplica(t, bins.replica, "B", args...)
			c := newClient()

			fromReturn := map[string][]time.Duration{}
			// stale counts revocations B had not yet seen at its first poll.
			stale := 0
			fromStart := map[string][]time.Duration{}
			began := time.Now()
			for i := range revocations {
				k := kinds[i%len(kinds)]
				user := "user-" + randomHex(t, 8)
				key := c.login(t, a.URL, user)
				// B caches the token: the first request reads the store,
				// the second is answered from memory.
				var me service.Me
				require.Equal(t, http.StatusOK, c.do(t, http.MethodGet, b.URL+"/api/me/", key, nil, &me))
				require.Equal(t, user, me.UserID)
				require.Equal(t, http.StatusOK, c.do(t, http.MethodGet, b.URL+"/api/me/", key, nil, nil))

				start := time.Now()
				if k.revoke == nil {
					st.cliRevoke(t, me.TokenID)
				} else {
					k.revoke(t, c, a.URL, key, me.TokenID)
				}
				returned := time.Now()
				for poll := 0; ; poll++ {
					status := c.do(t, http.MethodGet, b.URL+"/api/me/", key, nil, nil)
					if status == http.StatusUnauthorized {
						break
					}
					require.Equal(t, http.StatusOK, status, "%s #%d: B's answer to the revoked token", k.name, i)
					if poll == 0 {
						stale++
					}
					if time.Since(returned) > giveUp {
						t.Fatalf("%s #%d: B still accepts the token %s after the revocation returned", k.name, i, giveUp)
					}
					time.Sleep(pollEvery)
				}
				refused := time.Now()
				fromReturn[k.name] = append(fromReturn[k.name], refused.Sub(returned))
				fromStart[k.name] = append(fromStart[k.name], refused.Sub(start))
				if c.rotated != "" {
					require.Equal(t, http.StatusOK, c.do(t, http.MethodGet, b.URL+"/api/me/", c.rotated, nil, nil),
						"the rotated token works on B")
					c.rotated = ""
				}
			}
			elapsed := time.Since(began)

			// B answered the second request for each token from its cache.
			var stats cachestore.Stats
			require.Equal(t, http.StatusOK, c.do(t, http.MethodGet, b.URL+"/debug/cache", "", nil, &stats))
			assert.GreaterOrEqual(t, stats.Hits, uint64(revocations), "B's cache hits")

			var all, allStart []time.Duration
			for _, k := range kinds {
				t.Logf("lag %s %s: %s", s.name, k.name, summary(fromReturn[k.name]))
				all = append(all, fromReturn[k.name]...)
				allStart = append(allStart, fromStart[k.name]...)
			}
			t.Logf("lag %s: %s (from the revocation's return)", s.name, summary(all))
			t.Logf("lag %s: %s (from the revocation's start)", s.name, summary(allStart))
			t.Logf("%d revocations in %s; B still accepted %d of the tokens at its first request after the revocation returned",
				len(all), elapsed.Round(time.Millisecond), stale)
			require.Len(t, all, revocations)
			assert.Less(t, percentile(all, 99), st.bound, "p99 of the time B takes to refuse a token revoked through A")
		})
	}
}

// summary formats n, p50, p99 and max.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(ds), r(percentile(ds, 50)), r(percentile(ds, 99)), r(slices.Max(ds)))
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)]
}

// client talks to the replicas over kept-alive connections.
type client struct {
	http *http.Client
	// rotated is the key the last rotation returned.
	rotated string
}

func newClient() *client {
	return &client{http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4},
	}}
}

// do sends a request with key in an Authorization: Token header (if not
// empty) and form as its body (if not nil), decodes a 200's JSON body into
// out (if not nil), and returns the status.
func (c *client) do(t *testing.T, method, url, key string, form url.Values, out any) int {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set("Authorization", "Token "+key)
	}
	resp, err := c.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s: %s", method, url, raw)
	}
	return resp.StatusCode
}

// login logs user in through the replica at base and returns the key.
func (c *client) login(t *testing.T, base, user string) string {
	t.Helper()
	var r struct{ Token string }
	status := c.do(t, http.MethodPost, base+"/api-token-auth/", "", url.Values{"username": {user}, "password": {service.Password}}, &r)
	require.Equal(t, http.StatusOK, status, "login")
	require.NotEmpty(t, r.Token)
	return r.Token
}

// run runs a program to completion and fails the test unless it exits 0.
func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", bin, strings.Join(args, " "), out)
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
