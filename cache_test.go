package tokenauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// cacheFakeStore is a memstore that counts the calls a Cache passes on and
// can hold Find back, fail it or make it panic.
type cacheFakeStore struct {
	*memstore.Store
	finds, touches atomic.Int64
	// gate, when set, holds every Find after it has read the store, until
	// the gate is closed or the caller's context ends.
	gate   chan struct{}
	err    error // returned by Find when set
	panics bool  // Find panics when set
}

func newCacheFakeStore() *cacheFakeStore { return &cacheFakeStore{Store: memstore.New()} }

func (s *cacheFakeStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	s.finds.Add(1)
	tok, err := s.Store.Find(ctx, digest)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.panics {
		panic("store exploded")
	}
	if s.err != nil {
		return nil, s.err
	}
	return tok, err
}

func (s *cacheFakeStore) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	s.touches.Add(1)
	return s.Store.Touch(ctx, id, lastUsed, expiresAt)
}

// cacheFakeClock is a settable clock shared by a Cache and an Authenticator.
type cacheFakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newCacheFakeClock() *cacheFakeClock {
	return &cacheFakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *cacheFakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *cacheFakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newTestCache returns a Cache with a fake clock over a fresh fake store.
func newTestCache(t testing.TB, opts tokenauth.CacheOptions) (*tokenauth.Cache, *cacheFakeStore, *cacheFakeClock) {
	t.Helper()
	s, clk := newCacheFakeStore(), newCacheFakeClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	c, err := tokenauth.NewCache(s, opts)
	require.NoError(t, err)
	return c, s, clk
}

// cacheToken returns a stored-form token of userID with a random ID and
// digest.
func cacheToken(t testing.TB, userID string) *tokenauth.Token {
	t.Helper()
	id, err := tokenauth.NewID()
	require.NoError(t, err)
	digest := make([]byte, 32)
	_, _ = rand.Read(digest)
	return &tokenauth.Token{ID: id, UserID: userID, Name: "test", CreatedAt: time.Now().UTC(), Digest: digest}
}

// createCached stores tok through c and returns its digest.
func createCached(t testing.TB, c *tokenauth.Cache, tok *tokenauth.Token) []byte {
	t.Helper()
	require.NoError(t, c.Create(context.Background(), tok.Clone()))
	return tok.Digest
}

func TestNewCacheInvalidOptions(t *testing.T) {
	tests := []struct {
		name  string
		store tokenauth.Store
		opts  tokenauth.CacheOptions
	}{
		{"nil store", nil, tokenauth.CacheOptions{}},
		{"negative size", memstore.New(), tokenauth.CacheOptions{Size: -1}},
		{"negative TTL", memstore.New(), tokenauth.CacheOptions{TTL: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tokenauth.NewCache(tc.store, tc.opts)
			require.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, c)
		})
	}
}

// A Cache is a Store like any other.
func TestCacheStoreSuite(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
		c, err := tokenauth.NewCache(memstore.New(), tokenauth.CacheOptions{Size: 64})
		require.NoError(t, err)
		return c
	})
}

func TestCacheHitsDoNotReachStore(t *testing.T) {
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	tok := cacheToken(t, "u1")
	digest := createCached(t, c, tok)
	first, err := c.Find(context.Background(), digest)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		got, err := c.Find(context.Background(), digest)
		require.NoError(t, err)
		assert.Same(t, first, got, "a hit returns the cached record itself")
	}
	assert.EqualValues(t, 1, s.finds.Load())
	assert.Equal(t, tokenauth.CacheStats{Hits: 10, Misses: 1, Len: 1}, c.Stats())
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	c, _, _ := newTestCache(t, tokenauth.CacheOptions{})
	digest := createCached(t, c, cacheToken(t, "u1"))
	ctx := context.Background()
	_, err := c.Find(ctx, digest)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = c.Find(ctx, digest) })
	assert.Zero(t, allocs)
}

// Revocations, rotations and touches made through the Cache drop the entry
// before they return.
func TestCacheInvalidatesAtOnce(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		op   func(t *testing.T, c *tokenauth.Cache, tok *tokenauth.Token)
		want func(t *testing.T, got *tokenauth.Token, err error)
	}{
		{
			name: "Delete",
			op: func(t *testing.T, c *tokenauth.Cache, tok *tokenauth.Token) {
				require.NoError(t, c.Delete(ctx, tok.ID))
			},
			want: func(t *testing.T, _ *tokenauth.Token, err error) { assert.ErrorIs(t, err, tokenauth.ErrNotFound) },
		},
		{
			name: "DeleteUser",
			op: func(t *testing.T, c *tokenauth.Cache, tok *tokenauth.Token) {
				n, err := c.DeleteUser(ctx, tok.UserID)
				require.NoError(t, err)
				assert.Equal(t, 3, n)
			},
			want: func(t *testing.T, _ *tokenauth.Token, err error) { assert.ErrorIs(t, err, tokenauth.ErrNotFound) },
		},
		{
			name: "Touch",
			op: func(t *testing.T, c *tokenauth.Cache, tok *tokenauth.Token) {
				require.NoError(t, c.Touch(ctx, tok.ID, tok.CreatedAt.Add(time.Hour), time.Time{}))
			},
			want: func(t *testing.T, got *tokenauth.Token, err error) {
				require.NoError(t, err)
				assert.True(t, got.LastUsedAt.Equal(got.CreatedAt.Add(time.Hour)), "LastUsedAt = %v", got.LastUsedAt)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newTestCache(t, tokenauth.CacheOptions{})
			// The user has three tokens, all cached.
			var toks []*tokenauth.Token
			for i := 0; i < 3; i++ {
				tok := cacheToken(t, "u1")
				createCached(t, c, tok)
				_, err := c.Find(ctx, tok.Digest)
				require.NoError(t, err)
				toks = append(toks, tok)
			}
			other := cacheToken(t, "u2")
			createCached(t, c, other)
			_, err := c.Find(ctx, other.Digest)
			require.NoError(t, err)

			tc.op(t, c, toks[0])
			got, err := c.Find(ctx, toks[0].Digest)
			tc.want(t, got, err)
			_, err = c.Find(ctx, other.Digest)
			assert.NoError(t, err, "another user's token is unaffected")
		})
	}
}

// A revocation made elsewhere (another replica writing to the shared
// store) is seen once the TTL has passed, and not before.
func TestCacheRevokeElsewhereSeenAfterTTL(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newTestCache(t, tokenauth.CacheOptions{TTL: 30 * time.Second})
	digest := createCached(t, c, cacheToken(t, "u1"))
	tok, err := c.Find(ctx, digest)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, tok.ID)) // behind the cache's back

	clk.Advance(29 * time.Second)
	_, err = c.Find(ctx, digest)
	assert.NoError(t, err, "within the TTL the cached record is served")
	clk.Advance(time.Second)
	_, err = c.Find(ctx, digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "at the TTL the store is asked again")
}

func TestCacheNegativeEntries(t *testing.T) {
	ctx := context.Background()
	unknown := func(t *testing.T, c *tokenauth.Cache) []byte {
		tok := cacheToken(t, "u1")
		_, err := c.Find(ctx, tok.Digest)
		require.ErrorIs(t, err, tokenauth.ErrNotFound)
		return tok.Digest
	}

	t.Run("cached for NegativeTTL", func(t *testing.T) {
		c, s, clk := newTestCache(t, tokenauth.CacheOptions{NegativeTTL: 5 * time.Second})
		digest := unknown(t, c)
		for i := 0; i < 5; i++ {
			_, err := c.Find(ctx, digest)
			assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		}
		assert.EqualValues(t, 1, s.finds.Load())
		assert.Equal(t, tokenauth.CacheStats{NegativeHits: 5, Misses: 1, Len: 1}, c.Stats())
		clk.Advance(5 * time.Second)
		_, err := c.Find(ctx, digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		assert.EqualValues(t, 2, s.finds.Load())
	})

	t.Run("negative NegativeTTL turns them off", func(t *testing.T) {
		c, s, _ := newTestCache(t, tokenauth.CacheOptions{NegativeTTL: -1})
		digest := unknown(t, c)
		_, err := c.Find(ctx, digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		assert.EqualValues(t, 2, s.finds.Load())
		assert.Zero(t, c.Stats().Len)
	})

	t.Run("created here works at once", func(t *testing.T) {
		c, _, _ := newTestCache(t, tokenauth.CacheOptions{})
		tok := cacheToken(t, "u1")
		_, err := c.Find(ctx, tok.Digest)
		require.ErrorIs(t, err, tokenauth.ErrNotFound)
		createCached(t, c, tok)
		got, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
	})

	t.Run("created elsewhere works after NegativeTTL", func(t *testing.T) {
		c, s, clk := newTestCache(t, tokenauth.CacheOptions{NegativeTTL: 5 * time.Second})
		tok := cacheToken(t, "u1")
		_, err := c.Find(ctx, tok.Digest)
		require.ErrorIs(t, err, tokenauth.ErrNotFound)
		require.NoError(t, s.Create(ctx, tok.Clone()))
		_, err = c.Find(ctx, tok.Digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound, "the documented NegativeTTL bound")
		clk.Advance(5 * time.Second)
		_, err = c.Find(ctx, tok.Digest)
		assert.NoError(t, err)
	})
}

// waitMisses waits until c has counted n misses, that is until n lookups
// are waiting for the store.
func waitMisses(t *testing.T, c *tokenauth.Cache, n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Stats().Misses == n }, 5*time.Second, time.Millisecond)
}

func TestCacheSingleFlight(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	tok := cacheToken(t, "u1")
	require.NoError(t, s.Create(ctx, tok.Clone()))
	s.gate = make(chan struct{})

	const n = 100
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Find(ctx, tok.Digest)
			if err == nil && got.ID != tok.ID {
				err = fmt.Errorf("found token %s, want %s", got.ID, tok.ID)
			}
			results <- err
		}()
	}
	waitMisses(t, c, n)
	close(s.gate)
	wg.Wait()
	close(results)
	for err := range results {
		assert.NoError(t, err)
	}
	assert.EqualValues(t, 1, s.finds.Load(), "100 concurrent misses make one store call")
	_, err := c.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.finds.Load(), "and its answer is cached")
}

func TestCacheStoreErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	digest := cacheToken(t, "u1").Digest
	outage := errors.New("connection refused")
	s.err = outage
	_, err := c.Find(ctx, digest)
	require.ErrorIs(t, err, outage)
	s.err = nil
	_, err = c.Find(ctx, digest)
	require.ErrorIs(t, err, tokenauth.ErrNotFound)
	assert.EqualValues(t, 2, s.finds.Load())
}

func TestCacheCanceledContext(t *testing.T) {
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	digest := createCached(t, c, cacheToken(t, "u1"))
	_, err := c.Find(context.Background(), digest)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Find(ctx, digest)
	assert.ErrorIs(t, err, context.Canceled, "even a hit honours ctx")
	assert.EqualValues(t, 1, s.finds.Load())
}

// When the lookup others are sharing fails because its own caller gave up,
// they try again instead of failing with someone else's cancellation.
func TestCacheSharedLookupCallerCanceled(t *testing.T) {
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	tok := cacheToken(t, "u1")
	require.NoError(t, s.Create(context.Background(), tok.Clone()))
	s.gate = make(chan struct{})

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Find(leaderCtx, tok.Digest)
		leaderErr <- err
	}()
	waitMisses(t, c, 1)
	follower := make(chan error, 1)
	go func() {
		_, err := c.Find(context.Background(), tok.Digest)
		follower <- err
	}()
	waitMisses(t, c, 2)
	cancel()
	assert.ErrorIs(t, <-leaderErr, context.Canceled)
	close(s.gate)
	assert.NoError(t, <-follower)
	assert.EqualValues(t, 2, s.finds.Load())
}

func TestCacheWaiterHonoursItsContext(t *testing.T) {
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	s.gate = make(chan struct{})
	defer close(s.gate)
	digest := cacheToken(t, "u1").Digest
	go func() { _, _ = c.Find(context.Background(), digest) }()
	waitMisses(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := c.Find(ctx, digest)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCacheStorePanicReleasesWaiters(t *testing.T) {
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
	s.gate, s.panics = make(chan struct{}), true
	digest := cacheToken(t, "u1").Digest
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = c.Find(context.Background(), digest)
	}()
	waitMisses(t, c, 1)
	follower := make(chan error, 1)
	go func() {
		_, err := c.Find(context.Background(), digest)
		follower <- err
	}()
	waitMisses(t, c, 2)
	close(s.gate)
	assert.Equal(t, "store exploded", <-panicked)
	err := <-follower
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
}

// A lookup that read the store before a revocation made here must not
// cache what it read.
func TestCacheInvalidationDuringLookup(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		create bool // the token exists before the lookup
		op     func(c *tokenauth.Cache, tok *tokenauth.Token) error
		want   error
	}{
		{"Delete", true, func(c *tokenauth.Cache, tok *tokenauth.Token) error { return c.Delete(ctx, tok.ID) }, tokenauth.ErrNotFound},
		{"DeleteUser", true, func(c *tokenauth.Cache, tok *tokenauth.Token) error {
			_, err := c.DeleteUser(ctx, tok.UserID)
			return err
		}, tokenauth.ErrNotFound},
		{"Create", false, func(c *tokenauth.Cache, tok *tokenauth.Token) error { return c.Create(ctx, tok.Clone()) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s, _ := newTestCache(t, tokenauth.CacheOptions{})
			tok := cacheToken(t, "u1")
			if tc.create {
				require.NoError(t, s.Create(ctx, tok.Clone()))
			}
			s.gate = make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = c.Find(ctx, tok.Digest) // reads the store, then waits
			}()
			waitMisses(t, c, 1)
			require.NoError(t, tc.op(c, tok))
			close(s.gate)
			<-done
			_, err := c.Find(ctx, tok.Digest)
			if tc.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.EqualValues(t, 2, s.finds.Load(), "the stale answer was not cached")
		})
	}
}

func TestCacheEviction(t *testing.T) {
	ctx := context.Background()

	t.Run("CLOCK spares recently used entries", func(t *testing.T) {
		c, s, _ := newTestCache(t, tokenauth.CacheOptions{Size: 2})
		a, b, d := cacheToken(t, "u1"), cacheToken(t, "u1"), cacheToken(t, "u1")
		for _, tok := range []*tokenauth.Token{a, b, d} {
			createCached(t, c, tok)
		}
		for _, tok := range []*tokenauth.Token{a, b, a, d} { // a is used again before d comes in
			_, err := c.Find(ctx, tok.Digest)
			require.NoError(t, err)
		}
		st := c.Stats()
		assert.EqualValues(t, 1, st.Evictions)
		assert.Equal(t, 2, st.Len)
		before := s.finds.Load()
		_, err := c.Find(ctx, a.Digest)
		require.NoError(t, err)
		assert.Equal(t, before, s.finds.Load(), "a is still cached")
		_, err = c.Find(ctx, b.Digest)
		require.NoError(t, err)
		assert.Equal(t, before+1, s.finds.Load(), "b was evicted")
	})

	t.Run("unknown digests do not evict found tokens", func(t *testing.T) {
		c, s, _ := newTestCache(t, tokenauth.CacheOptions{Size: 4})
		var toks []*tokenauth.Token
		for i := 0; i < 4; i++ {
			tok := cacheToken(t, "u1")
			createCached(t, c, tok)
			_, err := c.Find(ctx, tok.Digest)
			require.NoError(t, err)
			toks = append(toks, tok)
		}
		for i := 0; i < 50; i++ {
			_, err := c.Find(ctx, cacheToken(t, "junk").Digest)
			require.ErrorIs(t, err, tokenauth.ErrNotFound)
		}
		assert.Equal(t, 5, c.Stats().Len, "4 found tokens and 1 not-found digest")
		before := s.finds.Load()
		for _, tok := range toks {
			_, err := c.Find(ctx, tok.Digest)
			require.NoError(t, err)
		}
		assert.Equal(t, before, s.finds.Load())
	})

	t.Run("entries past their TTL are not counted as evictions", func(t *testing.T) {
		c, _, clk := newTestCache(t, tokenauth.CacheOptions{Size: 1})
		for i := 0; i < 3; i++ {
			digest := createCached(t, c, cacheToken(t, "u1"))
			_, err := c.Find(ctx, digest)
			require.NoError(t, err)
			clk.Advance(time.Minute)
		}
		assert.Zero(t, c.Stats().Evictions)
	})
}

func TestCacheDeleteExpired(t *testing.T) {
	ctx := context.Background()
	c, _, clk := newTestCache(t, tokenauth.CacheOptions{})
	expired, live := cacheToken(t, "u1"), cacheToken(t, "u1")
	expired.ExpiresAt = clk.Now().Add(-time.Minute)
	live.ExpiresAt = clk.Now().Add(time.Hour)
	for _, tok := range []*tokenauth.Token{expired, live} {
		createCached(t, c, tok)
		_, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	n, err := c.DeleteExpired(ctx, clk.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = c.Find(ctx, expired.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	_, err = c.Find(ctx, live.Digest)
	assert.NoError(t, err)

	plain, err := tokenauth.NewCache(tokenauthtest.NewStore(), tokenauth.CacheOptions{})
	require.NoError(t, err)
	_, err = plain.DeleteExpired(ctx, clk.Now())
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

// newCachedAuth returns an Authenticator over a Cache over a fake store,
// all on one fake clock.
func newCachedAuth(t *testing.T, opts tokenauth.Options, copts tokenauth.CacheOptions) (*tokenauth.Authenticator, *tokenauth.Cache, *cacheFakeStore, *cacheFakeClock) {
	t.Helper()
	c, s, clk := newTestCache(t, copts)
	opts.Now = clk.Now
	a, err := tokenauth.New(c, opts)
	require.NoError(t, err)
	return a, c, s, clk
}

// Many requests within the touch interval write one use, and the cache
// serves the touched record after one reload.
func TestCacheNoTouchStorm(t *testing.T) {
	ctx := context.Background()
	a, _, s, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: time.Minute}, tokenauth.CacheOptions{TTL: time.Hour})
	key, _, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		_, err := a.Verify(ctx, key)
		require.NoError(t, err)
		clk.Advance(time.Second)
	}
	assert.EqualValues(t, 1, s.touches.Load())
	assert.EqualValues(t, 2, s.finds.Load(), "the first lookup and one after the touch")

	clk.Advance(time.Minute)
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, 2, s.touches.Load())
	assert.True(t, p.Token.LastUsedAt.Before(clk.Now()))
}

// Expiry is judged on every request against the cached record; a record
// that expires while cached is read once more, which honours a sliding
// expiry moved forward by another replica.
func TestCacheExpiryCheckedOnEveryRequest(t *testing.T) {
	ctx := context.Background()
	t.Run("absolute expiry", func(t *testing.T) {
		a, _, s, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: -1}, tokenauth.CacheOptions{TTL: time.Hour})
		key, _, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{TTL: time.Minute})
		require.NoError(t, err)
		_, err = a.Verify(ctx, key)
		require.NoError(t, err)
		clk.Advance(time.Minute)
		for i := 0; i < 5; i++ {
			_, err = a.Verify(ctx, key)
			assert.ErrorIs(t, err, tokenauth.ErrExpired)
		}
		assert.EqualValues(t, 2, s.finds.Load(), "read once more at expiry, then cached")
	})

	t.Run("sliding expiry extended elsewhere", func(t *testing.T) {
		a, _, s, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: -1}, tokenauth.CacheOptions{TTL: time.Hour})
		key, tok, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{TTL: time.Minute})
		require.NoError(t, err)
		_, err = a.Verify(ctx, key)
		require.NoError(t, err)
		// Another replica records a use that moves the expiry forward.
		require.NoError(t, s.Store.Touch(ctx, tok.ID, clk.Now(), tok.ExpiresAt.Add(time.Hour)))
		clk.Advance(time.Minute)
		_, err = a.Verify(ctx, key)
		assert.NoError(t, err)
	})
}

// A rotation through an Authenticator on a Cache retires the old token at
// once in this process.
func TestCacheRotate(t *testing.T) {
	ctx := context.Background()
	a, _, _, _ := newCachedAuth(t, tokenauth.Options{}, tokenauth.CacheOptions{})
	oldKey, _, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	p, err := a.Verify(ctx, oldKey)
	require.NoError(t, err)
	newKey, _, err := a.Rotate(ctx, p.Token)
	require.NoError(t, err)
	_, err = a.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err)
}

func TestCacheShardsConcurrent(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, tokenauth.CacheOptions{Size: 4096, NegativeTTL: -1})
	var toks []*tokenauth.Token
	for i := 0; i < 200; i++ {
		tok := cacheToken(t, fmt.Sprintf("u%d", i%10))
		createCached(t, c, tok)
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				tok := toks[(w*31+i)%len(toks)]
				got, err := c.Find(ctx, tok.Digest)
				if err == nil {
					assert.Equal(t, tok.ID, got.ID)
				} else {
					assert.ErrorIs(t, err, tokenauth.ErrNotFound)
				}
				if i%100 == 0 {
					_, err := c.DeleteUser(ctx, fmt.Sprintf("u%d", w))
					assert.NoError(t, err)
				}
			}
		}(w)
	}
	wg.Wait()
	st := c.Stats()
	assert.EqualValues(t, 8*500, st.Hits+st.Misses)
	assert.LessOrEqual(t, st.Len, 200)
	// Every cached entry still agrees with the store.
	for _, tok := range toks {
		_, cached := c.Find(ctx, tok.Digest)
		_, stored := s.Store.Find(ctx, tok.Digest)
		assert.Equal(t, stored == nil, cached == nil, "token %s", tok.ID)
	}
}
