package cachestore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// innerStore is a memstore that counts the calls the cache passes on and
// can hold Find back, fail it or make it panic. It is no Watcher.
type innerStore struct {
	tokenauth.Store
	finds, touches atomic.Int64
	// gate, when set, holds every Find after it has read the store, until
	// the gate is closed or the caller's context ends.
	gate     chan struct{}
	err      error // returned by Find when set
	panics   bool  // Find panics when set
	touchErr error // returned by Touch when set
}

func (s *innerStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
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

func (s *innerStore) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	s.touches.Add(1)
	if s.touchErr != nil {
		return s.touchErr
	}
	return s.Store.Touch(ctx, uses)
}

// touch records one use of the token with the given ID in s.
func touch(t testing.TB, s tokenauth.Store, id string, lastUsed, expiresAt time.Time) {
	t.Helper()
	require.NoError(t, s.Touch(context.Background(), []tokenauth.TokenUse{{ID: id, LastUsed: lastUsed, ExpiresAt: expiresAt}}))
}

// newCache returns a cache on a fake clock over a fresh counting store.
// The store has no events, so the cache runs with AllowStaleRevocations:
// these tests are about what it holds, not about whom it hears.
func newCache(t testing.TB, opts cachestore.Options) (*cachestore.Store, *innerStore, *tokenauthtest.Clock) {
	t.Helper()
	s, clk := &innerStore{Store: memstore.New()}, tokenauthtest.NewClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	opts.AllowStaleRevocations = true
	c, err := cachestore.New(s, opts)
	require.NoError(t, err)
	return c, s, clk
}

// randomHex returns n random bytes in hex.
func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// newToken returns a stored-form token of userID with a random ID and
// digest.
func newToken(t testing.TB, userID string) *tokenauth.Token {
	t.Helper()
	digest := make([]byte, 32)
	_, err := rand.Read(digest)
	require.NoError(t, err)
	return &tokenauth.Token{ID: randomHex(t, 16), UserID: userID, Name: "test", CreatedAt: time.Now().UTC(), Digest: digest}
}

// create stores tok through c and returns its digest.
func create(t testing.TB, c *cachestore.Store, tok *tokenauth.Token) []byte {
	t.Helper()
	require.NoError(t, c.Create(context.Background(), tok.Clone()))
	return tok.Digest
}

// createFound stores tok through c and looks it up once, so it is cached.
func createFound(t testing.TB, c *cachestore.Store, tok *tokenauth.Token) {
	t.Helper()
	_, err := c.Find(context.Background(), create(t, c, tok))
	require.NoError(t, err)
}

func TestNewInvalidOptions(t *testing.T) {
	tests := []struct {
		name  string
		store tokenauth.Store
		opts  cachestore.Options
	}{
		{"nil store", nil, cachestore.Options{}},
		{"negative size", memstore.New(), cachestore.Options{Size: -1}},
		{"negative TTL", memstore.New(), cachestore.Options{TTL: -time.Second}},
		{"no Watcher", memstore.New(), cachestore.Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cachestore.New(tc.store, tc.opts)
			require.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, c)
			if tc.name == "no Watcher" {
				assert.Contains(t, err.Error(), "AllowStaleRevocations", "the error says how to accept stale revocations")
			}
		})
	}
}

// The cache is a Store like any other: watching a store's events, as by
// default, and over a store without events.
func TestStoreSuite(t *testing.T) {
	t.Run("watched", func(t *testing.T) {
		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
			c, err := cachestore.New(newEventStore(), cachestore.Options{Size: 64})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})
	t.Run("AllowStaleRevocations", func(t *testing.T) {
		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
			c, err := cachestore.New(memstore.New(), cachestore.Options{Size: 64, AllowStaleRevocations: true})
			require.NoError(t, err)
			return c
		})
	})
}

func TestHitsDoNotReachStore(t *testing.T) {
	c, s, _ := newCache(t, cachestore.Options{})
	digest := create(t, c, newToken(t, "u1"))
	first, err := c.Find(context.Background(), digest)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		got, err := c.Find(context.Background(), digest)
		require.NoError(t, err)
		assert.Same(t, first, got, "a hit returns the cached record itself")
	}
	assert.EqualValues(t, 1, s.finds.Load())
	assert.Equal(t, cachestore.Stats{Hits: 10, Misses: 1, Len: 1}, c.Stats())
}

func TestHitDoesNotAllocate(t *testing.T) {
	c, _, _ := newCache(t, cachestore.Options{})
	digest := create(t, c, newToken(t, "u1"))
	ctx := context.Background()
	_, err := c.Find(ctx, digest)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = c.Find(ctx, digest) })
	assert.Zero(t, allocs)
}

// Revocations and touches made through the cache drop the entry before
// they return.
func TestInvalidatesAtOnce(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		op   func(t *testing.T, c *cachestore.Store, tok *tokenauth.Token)
		want func(t *testing.T, got *tokenauth.Token, err error)
	}{
		{
			name: "Delete",
			op: func(t *testing.T, c *cachestore.Store, tok *tokenauth.Token) {
				require.NoError(t, c.Delete(ctx, tok.ID))
			},
			want: func(t *testing.T, _ *tokenauth.Token, err error) { assert.ErrorIs(t, err, tokenauth.ErrNotFound) },
		},
		{
			name: "DeleteUser",
			op: func(t *testing.T, c *cachestore.Store, tok *tokenauth.Token) {
				n, err := c.DeleteUser(ctx, tok.UserID, time.Now())
				require.NoError(t, err)
				assert.Equal(t, 3, n)
			},
			want: func(t *testing.T, _ *tokenauth.Token, err error) { assert.ErrorIs(t, err, tokenauth.ErrNotFound) },
		},
		{
			name: "Touch",
			op: func(t *testing.T, c *cachestore.Store, tok *tokenauth.Token) {
				touch(t, c, tok.ID, tok.CreatedAt.Add(time.Hour), time.Time{})
			},
			want: func(t *testing.T, got *tokenauth.Token, err error) {
				require.NoError(t, err)
				assert.True(t, got.LastUsedAt.Equal(got.CreatedAt.Add(time.Hour)), "LastUsedAt = %v", got.LastUsedAt)
			},
		},
		{
			name: "Expire",
			op: func(t *testing.T, c *cachestore.Store, tok *tokenauth.Token) {
				require.NoError(t, c.Expire(ctx, tok.ID, tok.CreatedAt.Add(time.Minute)))
			},
			want: func(t *testing.T, got *tokenauth.Token, err error) {
				require.NoError(t, err)
				assert.True(t, got.ExpiresAt.Equal(got.CreatedAt.Add(time.Minute)), "ExpiresAt = %v", got.ExpiresAt)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newCache(t, cachestore.Options{})
			// The user has three tokens, all cached.
			var toks []*tokenauth.Token
			for i := 0; i < 3; i++ {
				tok := newToken(t, "u1")
				createFound(t, c, tok)
				toks = append(toks, tok)
			}
			other := newToken(t, "u2")
			createFound(t, c, other)

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
func TestRevokeElsewhereSeenAfterTTL(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newCache(t, cachestore.Options{TTL: 30 * time.Second})
	digest := create(t, c, newToken(t, "u1"))
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

func TestNegativeEntries(t *testing.T) {
	ctx := context.Background()
	unknown := func(t *testing.T, c *cachestore.Store) []byte {
		tok := newToken(t, "u1")
		_, err := c.Find(ctx, tok.Digest)
		require.ErrorIs(t, err, tokenauth.ErrNotFound)
		return tok.Digest
	}

	t.Run("cached for NegativeTTL", func(t *testing.T) {
		c, s, clk := newCache(t, cachestore.Options{NegativeTTL: 5 * time.Second})
		digest := unknown(t, c)
		for i := 0; i < 5; i++ {
			_, err := c.Find(ctx, digest)
			assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		}
		assert.EqualValues(t, 1, s.finds.Load())
		assert.Equal(t, cachestore.Stats{NegativeHits: 5, Misses: 1, Len: 1}, c.Stats())
		clk.Advance(5 * time.Second)
		_, err := c.Find(ctx, digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		assert.EqualValues(t, 2, s.finds.Load())
	})

	t.Run("negative NegativeTTL turns them off", func(t *testing.T) {
		c, s, _ := newCache(t, cachestore.Options{NegativeTTL: -1})
		digest := unknown(t, c)
		_, err := c.Find(ctx, digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
		assert.EqualValues(t, 2, s.finds.Load())
		assert.Zero(t, c.Stats().Len)
	})

	t.Run("created here works at once", func(t *testing.T) {
		c, _, _ := newCache(t, cachestore.Options{})
		tok := newToken(t, "u1")
		_, err := c.Find(ctx, tok.Digest)
		require.ErrorIs(t, err, tokenauth.ErrNotFound)
		create(t, c, tok)
		got, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
	})

	t.Run("created elsewhere works after NegativeTTL", func(t *testing.T) {
		c, s, clk := newCache(t, cachestore.Options{NegativeTTL: 5 * time.Second})
		tok := newToken(t, "u1")
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
func waitMisses(t *testing.T, c *cachestore.Store, n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Stats().Misses == n }, 5*time.Second, time.Millisecond)
}

func TestSingleFlight(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newCache(t, cachestore.Options{})
	tok := newToken(t, "u1")
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

func TestStoreErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newCache(t, cachestore.Options{})
	digest := newToken(t, "u1").Digest
	outage := errors.New("connection refused")
	s.err = outage
	_, err := c.Find(ctx, digest)
	require.ErrorIs(t, err, outage)
	s.err = nil
	_, err = c.Find(ctx, digest)
	require.ErrorIs(t, err, tokenauth.ErrNotFound)
	assert.EqualValues(t, 2, s.finds.Load())
}

func TestCanceledContext(t *testing.T) {
	c, s, _ := newCache(t, cachestore.Options{})
	digest := create(t, c, newToken(t, "u1"))
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
func TestSharedLookupCallerCanceled(t *testing.T) {
	c, s, _ := newCache(t, cachestore.Options{})
	tok := newToken(t, "u1")
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

func TestWaiterHonoursItsContext(t *testing.T) {
	c, s, _ := newCache(t, cachestore.Options{})
	s.gate = make(chan struct{})
	defer close(s.gate)
	digest := newToken(t, "u1").Digest
	go func() { _, _ = c.Find(context.Background(), digest) }()
	waitMisses(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := c.Find(ctx, digest)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestStorePanicReleasesWaiters(t *testing.T) {
	c, s, _ := newCache(t, cachestore.Options{})
	s.gate, s.panics = make(chan struct{}), true
	digest := newToken(t, "u1").Digest
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

	s.panics = false
	_, err = c.Find(context.Background(), digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "the cache still works after the panic")
}

// A lookup that read the store before a change made through the cache
// must not cache what it read, nor be joined by a lookup begun after.
func TestInvalidationDuringLookup(t *testing.T) {
	ctx := context.Background()
	expireAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	notFound := func(t *testing.T, _ *tokenauth.Token, err error) { assert.ErrorIs(t, err, tokenauth.ErrNotFound) }
	tests := []struct {
		name   string
		create bool // the token exists before the lookup
		op     func(c *cachestore.Store, tok *tokenauth.Token) error
		want   func(t *testing.T, got *tokenauth.Token, err error)
	}{
		{"Delete", true, func(c *cachestore.Store, tok *tokenauth.Token) error { return c.Delete(ctx, tok.ID) }, notFound},
		{"DeleteUser", true, func(c *cachestore.Store, tok *tokenauth.Token) error {
			_, err := c.DeleteUser(ctx, tok.UserID, time.Now())
			return err
		}, notFound},
		{"Expire", true, func(c *cachestore.Store, tok *tokenauth.Token) error {
			return c.Expire(ctx, tok.ID, expireAt)
		}, func(t *testing.T, got *tokenauth.Token, err error) {
			require.NoError(t, err)
			assert.True(t, got.ExpiresAt.Equal(expireAt), "the record as Expire left it, not as read before: ExpiresAt = %v", got.ExpiresAt)
		}},
		{"Create", false, func(c *cachestore.Store, tok *tokenauth.Token) error { return c.Create(ctx, tok.Clone()) },
			func(t *testing.T, _ *tokenauth.Token, err error) { assert.NoError(t, err) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s, _ := newCache(t, cachestore.Options{})
			tok := newToken(t, "u1")
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
			// A lookup begun now must make its own store call rather
			// than share the one that read the store before op.
			type result struct {
				tok *tokenauth.Token
				err error
			}
			after := make(chan result, 1)
			go func() {
				got, err := c.Find(ctx, tok.Digest)
				after <- result{got, err}
			}()
			require.Eventually(t, func() bool { return s.finds.Load() == 2 }, 5*time.Second, time.Millisecond,
				"the lookup begun after the change did not start its own store call")
			close(s.gate)
			<-done
			r := <-after
			tc.want(t, r.tok, r.err)
			got, err := c.Find(ctx, tok.Digest)
			tc.want(t, got, err)
		})
	}
}

func TestEviction(t *testing.T) {
	ctx := context.Background()

	t.Run("recently used entries are spared", func(t *testing.T) {
		c, s, _ := newCache(t, cachestore.Options{Size: 2})
		a, b, d := newToken(t, "u1"), newToken(t, "u1"), newToken(t, "u1")
		for _, tok := range []*tokenauth.Token{a, b, d} {
			create(t, c, tok)
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
		c, s, _ := newCache(t, cachestore.Options{Size: 4})
		var toks []*tokenauth.Token
		for i := 0; i < 4; i++ {
			tok := newToken(t, "u1")
			createFound(t, c, tok)
			toks = append(toks, tok)
		}
		for i := 0; i < 50; i++ {
			_, err := c.Find(ctx, newToken(t, "junk").Digest)
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
		c, _, clk := newCache(t, cachestore.Options{Size: 1})
		for i := 0; i < 3; i++ {
			createFound(t, c, newToken(t, "u1"))
			clk.Advance(time.Minute)
		}
		assert.Zero(t, c.Stats().Evictions)
	})

	t.Run("bounded under a flood of tokens", func(t *testing.T) {
		c, _, _ := newCache(t, cachestore.Options{Size: 8})
		for i := 0; i < 100; i++ {
			createFound(t, c, newToken(t, fmt.Sprintf("u%d", i%3)))
		}
		st := c.Stats()
		assert.Equal(t, 8, st.Len)
		assert.EqualValues(t, 92, st.Evictions)
	})
}

// A record that expires while cached is read once more, which honours a
// sliding expiry moved forward by another replica; then the expired record
// is cached like any other, for the Authenticator to refuse.
func TestExpiryWhileCached(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		extend      bool // another replica moves the expiry forward
		wantExpired bool
	}{
		{"absolute expiry", false, true},
		{"sliding expiry extended elsewhere", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s, clk := newCache(t, cachestore.Options{TTL: time.Hour})
			tok := newToken(t, "u1")
			tok.ExpiresAt = clk.Now().Add(time.Minute)
			createFound(t, c, tok)
			if tc.extend {
				touch(t, s.Store, tok.ID, clk.Now(), tok.ExpiresAt.Add(time.Hour))
			}
			clk.Advance(time.Minute)
			for i := 0; i < 5; i++ {
				got, err := c.Find(ctx, tok.Digest)
				require.NoError(t, err)
				assert.Equal(t, tc.wantExpired, got.Expired(clk.Now()))
			}
			assert.EqualValues(t, 2, s.finds.Load(), "read once more at expiry, then cached")
		})
	}
}

// newCachedAuth returns an Authenticator over a cache over a counting
// store, all on one fake clock.
func newCachedAuth(t *testing.T, opts tokenauth.Options, copts cachestore.Options) (*tokenauth.Authenticator, *innerStore, *tokenauthtest.Clock) {
	t.Helper()
	c, s, clk := newCache(t, copts)
	opts.Now = clk.Now
	a, err := tokenauth.New(c, opts)
	require.NoError(t, err)
	return a, s, clk
}

// Many requests within the touch interval write one use, and the cache
// serves the touched record after one reload.
func TestAuthenticatorNoTouchStorm(t *testing.T) {
	ctx := context.Background()
	a, s, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: time.Minute}, cachestore.Options{TTL: time.Hour})
	key, _, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	// Uses are written in the background, within a second.
	written := func(n int64) {
		t.Helper()
		require.Eventually(t, func() bool { return s.touches.Load() >= n }, 3*time.Second, time.Millisecond)
	}
	_, err = a.Verify(ctx, key)
	require.NoError(t, err)
	written(1)
	// The write has reached the store; the cache drops the entry right
	// after it, and the next lookup reads the touched record.
	require.Eventually(t, func() bool {
		p, err := a.Verify(ctx, key)
		return err == nil && !p.Token.LastUsedAt.IsZero()
	}, 3*time.Second, time.Millisecond)
	for i := 0; i < 50; i++ {
		clk.Advance(time.Second)
		_, err := a.Verify(ctx, key)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, s.touches.Load())
	assert.EqualValues(t, 2, s.finds.Load(), "the first lookup and one after the touch")

	clk.Advance(time.Minute)
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	written(2)
	assert.True(t, p.Token.LastUsedAt.Before(clk.Now()))
}

// Expiry is judged by the Authenticator on every request against the
// cached record.
func TestAuthenticatorExpiry(t *testing.T) {
	ctx := context.Background()
	a, s, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: -1}, cachestore.Options{TTL: time.Hour})
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
}

// A revocation through an Authenticator on the cache refuses the token at
// once in this process, however long the TTL.
func TestAuthenticatorRevoke(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		revoke func(a *tokenauth.Authenticator, tok *tokenauth.Token) error
	}{
		{"Revoke", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error { return a.Revoke(ctx, tok.ID) }},
		{"RevokeAll", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			_, err := a.RevokeAll(ctx, tok.UserID)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _ := newCachedAuth(t, tokenauth.Options{}, cachestore.Options{TTL: time.Hour})
			key, tok, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{})
			require.NoError(t, err)
			otherKey, _, err := a.Issue(ctx, "u2", tokenauth.IssueOptions{})
			require.NoError(t, err)
			for _, k := range []string{key, otherKey} {
				_, err = a.Verify(ctx, k)
				require.NoError(t, err)
			}
			require.NoError(t, tc.revoke(a, tok))
			_, err = a.Verify(ctx, key)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
			_, err = a.Verify(ctx, otherKey)
			assert.NoError(t, err, "another user's token is unaffected")
		})
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newCache(t, cachestore.Options{Size: 4096, NegativeTTL: -1})
	var toks []*tokenauth.Token
	for i := 0; i < 200; i++ {
		tok := newToken(t, fmt.Sprintf("u%d", i%10))
		create(t, c, tok)
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
					_, err := c.DeleteUser(ctx, fmt.Sprintf("u%d", w), time.Now())
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

// Lookups running while a revocation is made get the token or not, and
// every lookup begun after it returned misses it.
func TestHitsDuringRevoke(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCache(t, cachestore.Options{})
	tok := newToken(t, "u1")
	createFound(t, c, tok)
	var revoked atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				after := revoked.Load()
				got, err := c.Find(ctx, tok.Digest)
				if after {
					assert.ErrorIs(t, err, tokenauth.ErrNotFound, "a lookup begun after the revocation")
					return
				}
				if err == nil {
					assert.Equal(t, tok.ID, got.ID)
				} else {
					assert.ErrorIs(t, err, tokenauth.ErrNotFound)
				}
			}
		}()
	}
	// Let the lookups hit for a while.
	require.Eventually(t, func() bool { return c.Stats().Hits >= 1000 }, 5*time.Second, time.Millisecond)
	require.NoError(t, c.Delete(ctx, tok.ID))
	revoked.Store(true)
	wg.Wait()
}

// Hits on a token go on without reaching the store while other tokens
// fill the cache, and each is counted once.
func TestHitsWhileCacheFills(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newCache(t, cachestore.Options{Size: 4096, NegativeTTL: -1})
	hot := newToken(t, "u1")
	cached, err := c.Find(ctx, create(t, c, hot))
	require.NoError(t, err)
	const readers, each, others = 4, 3000, 2000
	var wg sync.WaitGroup
	for w := 0; w < readers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				got, err := c.Find(ctx, hot.Digest)
				if !assert.NoError(t, err) {
					return
				}
				assert.Same(t, cached, got, "the cached record")
			}
		}()
	}
	for i := 0; i < others; i++ {
		createFound(t, c, newToken(t, fmt.Sprintf("u%d", i)))
	}
	wg.Wait()
	assert.EqualValues(t, 1+others, s.finds.Load(), "the hot token was read once")
	assert.Equal(t, cachestore.Stats{Hits: readers * each, Misses: 1 + others, Len: 1 + others}, c.Stats())
}
