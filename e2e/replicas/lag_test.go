package replicas

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

const (
	// revocations is how many tokens each store's run revokes, spread
	// evenly over the kinds.
	revocations = 200
	// notified bounds the p99 lag over stores that push revocations.
	notified = 100 * time.Millisecond
	// pollInterval is the replicas' sqlstore.Options.PollInterval on
	// MySQL and SQLite, sqlstore's default; the p99 lag there must stay
	// under it plus notified.
	pollInterval = 250 * time.Millisecond
	// pollEvery is how often B is asked whether it still accepts a token.
	pollEvery = time.Millisecond
	// giveUp ends the wait for B's refusal: the cache's TTL is an hour.
	giveUp = 5 * time.Second
)

// kinds are the ways a token is revoked, through A or from a third
// process.
var kinds = []string{"logout", "logoutall", "rotate", "cli revoke"}

// sample is one revocation's figures.
type sample struct {
	kind string
	// fromReturn runs from the revocation's return (A's answer received,
	// the third process exited) to B's first 401; fromStart from the
	// revocation's start.
	fromReturn, fromStart time.Duration
	// stale is whether B still accepted the token at its first request
	// after the revocation returned.
	stale bool
}

// run is one store's measurement.
type run struct {
	st   store
	a, b string // the replicas' URLs
	c    *client
}

// revoke logs a fresh user in through A, has B cache the token, revokes
// it as kind says and waits for B to refuse it.
func (r *run) revoke(kind string) (sample, error) {
	s := sample{kind: kind}
	user := "user-" + rand.Text()
	key, err := r.c.login(r.a, user)
	if err != nil {
		return s, err
	}
	// B caches the token: the first request reads the store, the second
	// is answered from memory.
	var me service.Me
	for range 2 {
		if err := r.c.expect(http.MethodGet, r.b+"/api/me/", key, http.StatusOK, &me); err != nil {
			return s, fmt.Errorf("B, before the revocation: %w", err)
		}
	}
	if me.UserID != user {
		return s, fmt.Errorf("B says the token is %q's, not %q's", me.UserID, user)
	}

	if r.st.jitter > 0 {
		time.Sleep(mrand.N(r.st.jitter))
	}
	var rotated service.Rotated
	start := time.Now()
	switch kind {
	case "logout":
		err = r.c.expect(http.MethodPost, r.a+"/api/logout/", key, http.StatusNoContent, nil)
	case "logoutall":
		err = r.c.expect(http.MethodPost, r.a+"/api/logoutall/", key, http.StatusNoContent, nil)
	case "rotate":
		err = r.c.expect(http.MethodPost, r.a+"/api/rotate/", key, http.StatusOK, &rotated)
	case "cli revoke":
		args := r.st.cliRevoke(me.TokenID)
		if out, cerr := exec.Command(args[0], args[1:]...).CombinedOutput(); cerr != nil {
			err = fmt.Errorf("%s: %w: %s", strings.Join(args, " "), cerr, out)
		}
	}
	returned := time.Now()
	if err != nil {
		return s, fmt.Errorf("revoking: %w", err)
	}
	for poll := 0; ; poll++ {
		status, err := r.c.do(http.MethodGet, r.b+"/api/me/", key, nil, nil)
		if err != nil {
			return s, err
		}
		if status == http.StatusUnauthorized {
			break
		}
		if status != http.StatusOK {
			return s, fmt.Errorf("B answered the revoked token %d", status)
		}
		if time.Since(returned) > giveUp {
			return s, fmt.Errorf("B still accepts the token %s after the revocation returned", giveUp)
		}
		s.stale = s.stale || poll == 0
		time.Sleep(pollEvery)
	}
	refused := time.Now()
	s.fromReturn, s.fromStart = refused.Sub(returned), refused.Sub(start)
	if kind == "rotate" {
		if err := r.c.expect(http.MethodGet, r.b+"/api/me/", rotated.Token, http.StatusOK, nil); err != nil {
			return s, fmt.Errorf("B, the rotated token: %w", err)
		}
	}
	return s, nil
}

// TestRevocationLag is the figure: see the package documentation.
func TestRevocationLag(t *testing.T) {
	bins := long(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := s.get(t, bins)
			r := startPair(t, bins, st)

			began := time.Now()
			var mu sync.Mutex
			var samples []sample
			var errs []error
			var wg sync.WaitGroup
			for w := range st.workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < revocations; i += st.workers {
						kind := kinds[i%len(kinds)]
						smp, err := r.revoke(kind)
						mu.Lock()
						if err != nil {
							errs = append(errs, fmt.Errorf("%s #%d: %w", kind, i, err))
						} else {
							samples = append(samples, smp)
						}
						mu.Unlock()
						if err != nil {
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(began)
			require.NoError(t, errors.Join(errs...))
			require.Len(t, samples, revocations)

			// B answered the second request for each token from its cache.
			var stats cachestore.Stats
			require.NoError(t, r.c.expect(http.MethodGet, r.b+"/debug/cache", "", http.StatusOK, &stats))
			assert.GreaterOrEqual(t, stats.Hits, uint64(revocations), "B's cache hits")

			var all, allStart []time.Duration
			stale := 0
			for _, k := range kinds {
				var ds []time.Duration
				for _, smp := range samples {
					if smp.kind == k {
						ds = append(ds, smp.fromReturn)
					}
				}
				t.Logf("lag %s %s: %s", s.name, k, summary(ds))
			}
			for _, smp := range samples {
				all, allStart = append(all, smp.fromReturn), append(allStart, smp.fromStart)
				if smp.stale {
					stale++
				}
			}
			t.Logf("lag %s: %s (from the revocation's return)", s.name, summary(all))
			t.Logf("lag %s: %s (from the revocation's start)", s.name, summary(allStart))
			t.Logf("%s: %d revocations in %s, %d at a time; B still accepted %d of the tokens at its first request after the revocation returned; load average %s",
				s.name, len(all), elapsed.Round(time.Millisecond), st.workers, stale, loadAverage())
			assert.Less(t, percentile(all, 99), st.bound, "p99 of the time B takes to refuse a token revoked through A (load average %s)", loadAverage())
		})
	}
}

// startPair starts replicas A and B over st (see replicaArgs), and checks
// that both hear revocations as st says they must.
func startPair(t *testing.T, bins binaries, st store, extra ...string) *run {
	r := &run{st: st, c: newClient()}
	a := startReplica(t, bins.replica, "A", st.replicaArgs(extra...)...)
	b := startReplica(t, bins.replica, "B", st.replicaArgs(extra...)...)
	r.a, r.b = a.URL, b.URL
	for _, p := range []*process{a, b} {
		var s debugStats
		require.NoError(t, r.c.expect(http.MethodGet, p.URL+"/debug/cache", "", http.StatusOK, &s))
		require.True(t, s.Watching, "%s: the cache watches the store", p.URL)
		require.Equal(t, st.watchMode, s.WatchMode, "%s: how the store hears revocations", p.URL)
		if st.startLog != "" {
			require.Contains(t, p.stderr.String(), st.startLog, "%s: logged at start", p.URL)
		}
	}
	return r
}

// replicaArgs is the command line of a replica over st with an hour-long
// cache, and extra flags. Uses are not recorded: writing a token's first
// use drops its cache entry within a second, and B would then refuse a
// revoked token by reading the store, not through the revocation channel.
func (st store) replicaArgs(extra ...string) []string {
	return append(append([]string{"-cache-ttl", "1h", "-touch-interval", "-1ns"}, extra...), st.args...)
}

// debugStats is a replica's /debug/cache.
type debugStats struct {
	cachestore.Stats
	WatchMode string
}

// loadAverage is the machine's one-minute load average, for telling a
// slow figure from a busy machine: the suite's machines share their
// cores with other jobs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	avg, _, _ := strings.Cut(string(b), " ")
	return avg
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
}

func newClient() *client {
	return &client{http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}
}

// do sends a request with key in an Authorization: Token header (if not
// empty) and form as its body (if not nil), decodes a 200's JSON body into
// out (if not nil), and returns the status.
func (c *client) do(method, url, key string, form url.Values, out any) (int, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set("Authorization", "Token "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("%s %s: %w: %s", method, url, err, raw)
		}
	}
	return resp.StatusCode, nil
}

// expect is do, with an error unless the status is want.
func (c *client) expect(method, url, key string, want int, out any) error {
	status, err := c.do(method, url, key, nil, out)
	if err == nil && status != want {
		err = fmt.Errorf("%s %s: status %d, want %d", method, url, status, want)
	}
	return err
}

// login logs user in through the replica at base and returns the key.
func (c *client) login(base, user string) (string, error) {
	var r struct{ Token string }
	status, err := c.do(http.MethodPost, base+"/api-token-auth/", "", url.Values{"username": {user}, "password": {service.Password}}, &r)
	switch {
	case err != nil:
		return "", err
	case status != http.StatusOK || r.Token == "":
		return "", fmt.Errorf("login: status %d", status)
	}
	return r.Token, nil
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
