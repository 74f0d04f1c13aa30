package replicas

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

const (
	// frozenTrials is how many times the listener freezes.
	frozenTrials = 6
	// unwatchedAfter is how long after the last confirmation of its
	// subscription a cache stops trusting it and asks the store
	// (cachestore's aliveFor).
	unwatchedAfter = 3 * time.Second
	// frozenSlack is what B may take beyond unwatchedAfter to refuse the
	// token: a request or two, on a loaded machine.
	frozenSlack = 500 * time.Millisecond
	// resubscribeWait bounds the wait for B's cache to subscribe again
	// once the listener's connection thaws: pglisten gives up a connect
	// after 10 s, and the cache waits up to 10 s between attempts.
	resubscribeWait = 30 * time.Second
)

// TestFrozenListener is finding 6 of the production issue: the
// connection on which replica B listens for PostgreSQL's notifications
// freezes (open, silent: a half-dead NAT entry, a stalled proxy), while
// its database connections work. A token revoked through A is then
// unheard of on B, whose cache held it for its TTL: 30 s by default,
// accepted all along. Now B's cache stops trusting its subscription 3 s
// after the last confirmation (pglisten confirms twice a second, and
// gives up on a frozen connection within about 2 s) and asks the store,
// which refuses the token.
//
// Only the listener's connections go through a fault proxy (the
// replica's -listen-dsn); its pool reaches PostgreSQL directly. Each
// trial logs a user in through A, has B cache the token, freezes the
// proxy, logs out through A, and asks B every millisecond until it
// refuses the token: within 3 s of the freeze plus frozenSlack, never a
// 5xx. Then the proxy thaws and B's cache subscribes again. The cache TTL
// is an hour, so only the lapsed subscription can explain the refusal.
// It logs how long B accepted the token after the logout returned.
func TestFrozenListener(t *testing.T) {
	bins := long(t)
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL skipped: set %s to a test database's URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envPostgres)
	}
	st := postgresTable(t, bins, dsn, false)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	proxy, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()

	r := &run{st: st, c: newClient()}
	r.a = startReplica(t, bins.replica, "A", st.replicaArgs()...).URL
	r.b = startReplica(t, bins.replica, "B", st.replicaArgs("-listen-dsn", u.String())...).URL

	var accepted, refused, resubscribed []time.Duration
	for i := range frozenTrials {
		stats := r.waitWatching(t, r.b, resubscribeWait)
		require.Equal(t, sqlstore.WatchListen, stats.WatchMode, "trial %d: B listens", i)

		user := "frozen-" + randomHex(t, 6)
		key, err := r.c.login(r.a, user)
		require.NoError(t, err)
		for range 2 {
			require.NoError(t, r.c.expect(http.MethodGet, r.b+"/api/me/", key, http.StatusOK, nil), "B caches the token")
		}

		proxy.Freeze()
		frozen := time.Now()
		require.NoError(t, r.c.expect(http.MethodPost, r.a+"/api/logout/", key, http.StatusNoContent, nil))
		returned := time.Now()
		var last time.Time // B's last 200
		for {
			var me service.Me
			status, err := r.c.do(http.MethodGet, r.b+"/api/me/", key, nil, &me)
			require.NoError(t, err)
			if status == http.StatusUnauthorized {
				break
			}
			require.Equal(t, http.StatusOK, status, "trial %d: B answered the revoked token", i)
			last = time.Now()
			require.Less(t, last.Sub(frozen), unwatchedAfter+frozenSlack,
				"trial %d: B still accepts the token %s after the listener froze", i, last.Sub(frozen).Round(time.Millisecond))
			time.Sleep(pollEvery)
		}
		refusedAt := time.Since(frozen)
		accepted = append(accepted, max(last.Sub(returned), 0))
		refused = append(refused, refusedAt)

		proxy.Restore()
		thawed := time.Now()
		stats = r.waitWatching(t, r.b, resubscribeWait)
		resubscribed = append(resubscribed, time.Since(thawed))
		assert.NoError(t, r.c.expect(http.MethodGet, r.b+"/api/me/", key, http.StatusUnauthorized, nil), "trial %d: after the thaw", i)
		t.Logf("frozen listener, trial %d: B accepted the token %s after the logout returned, refused it %s after the freeze; subscribed again %s after the thaw (%s, %d reconnects)",
			i, ms(accepted[i]), ms(refusedAt), ms(resubscribed[i]), stats.WatchMode, stats.Reconnects)
	}
	t.Logf("frozen listener postgres: B accepted a token revoked through A for %s after the logout returned, and refused it %s after the freeze (the cache TTL: 1h)",
		summary(accepted), summary(refused))
	t.Logf("frozen listener postgres: subscribed again after the thaw: %s", summary(resubscribed))
}

// waitWatching waits until the replica at base watches the store's
// revocations, and returns its stats.
func (r *run) waitWatching(t *testing.T, base string, wait time.Duration) debugStats {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var s debugStats
		require.NoError(t, r.c.expect(http.MethodGet, base+"/debug/cache", "", http.StatusOK, &s))
		if s.Watching {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the cache did not subscribe again within %s", base, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
