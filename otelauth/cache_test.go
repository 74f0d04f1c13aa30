package otelauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// watchedStore is memstore with a revocation subscription that holds
// until its context ends.
type watchedStore struct{ *memstore.Store }

func (watchedStore) Watch(ctx context.Context, alive func(), _ func(tokenID, userID string)) error {
	alive()
	<-ctx.Done()
	return ctx.Err()
}

func TestObserveCache(t *testing.T) {
	h := newHarness(t)
	store := memstore.New()
	cache, err := cachestore.New(watchedStore{store}, cachestore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cache.Close() })
	require.NoError(t, h.tel.ObserveCache(cache))
	auth, err := tokenauth.New(cache, tokenauth.Options{OnCheck: h.tel.OnCheck, OnStoreCall: h.tel.OnStoreCall})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	key, _, err := auth.Issue(context.Background(), userID, tokenauth.IssueOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return cache.Stats().Watching }, 5*time.Second, time.Millisecond)

	api := auth.Require()(http.HandlerFunc(ok))
	for _, k := range []string{key, key, key, "tka_" + key[4:10] + key[10:]} {
		r := httptest.NewRequest(http.MethodGet, "/api/", nil)
		r.Header.Set("Authorization", "Token "+k)
		h.serve(api, r)
	}
	unknown, _, err := auth.Issue(context.Background(), "user-2", tokenauth.IssueOptions{})
	require.NoError(t, err)
	_, err = auth.RevokeAll(context.Background(), "user-2")
	require.NoError(t, err)
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/api/", nil)
		r.Header.Set("Authorization", "Token "+unknown)
		h.serve(api, r)
	}

	s := cache.Stats()
	m := h.metrics(t)
	lookups := m["tokenauth.cache.lookups"]
	assert.Equal(t, "{lookup}", lookups.Unit)
	assert.Equal(t, map[string]int64{
		"tokenauth.cache.result=hit":          int64(s.Hits),
		"tokenauth.cache.result=negative_hit": int64(s.NegativeHits),
		"tokenauth.cache.result=miss":         int64(s.Misses),
	}, int64Points(t, lookups))
	assert.Positive(t, s.Hits)
	assert.Positive(t, s.Misses)
	assert.Equal(t, map[string]int64{"": 0}, int64Points(t, m["tokenauth.cache.evictions"]))
	assert.Equal(t, map[string]int64{"": int64(s.Len)}, int64Points(t, m["tokenauth.cache.entries"]))
	assert.Equal(t, map[string]int64{"": 1}, int64Points(t, m["tokenauth.revocation.subscribed"]))
	assert.Equal(t, map[string]int64{"": 0}, int64Points(t, m["tokenauth.revocation.reconnects"]))
	for name, unit := range map[string]string{
		"tokenauth.cache.evictions":       "{entry}",
		"tokenauth.cache.entries":         "{entry}",
		"tokenauth.revocation.subscribed": "1",
		"tokenauth.revocation.reconnects": "{reconnect}",
	} {
		assert.Equal(t, unit, m[name].Unit, name)
	}

	// A second cache, over a store that cannot watch: the sums, and no
	// longer subscribed.
	deaf, err := cachestore.New(memstore.New(), cachestore.Options{AllowStaleRevocations: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = deaf.Close() })
	require.NoError(t, h.tel.ObserveCache(deaf))
	_, _ = deaf.Find(context.Background(), []byte("digest"))
	m = h.metrics(t)
	assert.Equal(t, int64(s.Misses+1), int64Points(t, m["tokenauth.cache.lookups"])["tokenauth.cache.result=miss"])
	assert.Equal(t, map[string]int64{"": 0}, int64Points(t, m["tokenauth.revocation.subscribed"]))

	for _, v := range h.everyValue(t) {
		assert.NotContains(t, v, userID)
	}
	assert.Error(t, h.tel.ObserveCache(nil))
}
