package cachestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/cachestore"
	"github.com/go-tokenauth/tokenauth/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// watchedStore is an innerStore that is a tokenauth.Watcher driven by the
// test: each Watch call is a session that the test receives, makes ready,
// sends events through and ends.
type watchedStore struct {
	*innerStore
	sessions chan *session
}

type session struct {
	ctx context.Context
	do  chan func(ready func(), changed func(tokenID, userID string))
	end chan error
}

func (w *watchedStore) Watch(ctx context.Context, ready func(), changed func(tokenID, userID string)) error {
	s := &session{ctx: ctx, do: make(chan func(func(), func(string, string))), end: make(chan error, 1)}
	select {
	case w.sessions <- s:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		select {
		case f := <-s.do:
			f(ready, changed)
		case err := <-s.end:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next returns the cache's next Watch call.
func (w *watchedStore) next(t *testing.T) *session {
	t.Helper()
	select {
	case s := <-w.sessions:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("the cache did not watch the store")
		return nil
	}
}

// run has Watch's goroutine call f, and waits for it.
func (s *session) run(t *testing.T, f func(ready func(), changed func(tokenID, userID string))) {
	t.Helper()
	done := make(chan struct{})
	select {
	case s.do <- func(r func(), c func(string, string)) { f(r, c); close(done) }:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch is not running")
	}
	<-done
}

func (s *session) ready(t *testing.T) {
	t.Helper()
	s.run(t, func(ready func(), _ func(string, string)) { ready() })
}

func (s *session) changed(t *testing.T, tokenID, userID string) {
	t.Helper()
	s.run(t, func(_ func(), changed func(string, string)) { changed(tokenID, userID) })
}

// hookLog records the calls of Options.OnWatch.
type hookLog struct {
	mu    sync.Mutex
	calls []string
}

func (h *hookLog) onWatch(watching bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if watching {
		h.calls = append(h.calls, "up")
	} else {
		h.calls = append(h.calls, "down: "+err.Error())
	}
}

func (h *hookLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// syncBuffer is a log destination safe for the watching goroutine.
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

// newWatchedCache returns a cache on a fake clock over a watched store,
// with its hook and log recorded, closed when the test ends.
func newWatchedCache(t *testing.T, opts cachestore.Options, minBackoff, maxBackoff time.Duration) (*cachestore.Store, *watchedStore, *tokenauthtest.Clock, *hookLog, *syncBuffer) {
	t.Helper()
	w := &watchedStore{innerStore: &innerStore{Store: memstore.New()}, sessions: make(chan *session)}
	clk, hooks, logs := tokenauthtest.NewClock(), &hookLog{}, &syncBuffer{}
	opts.Now, opts.OnWatch = clk.Now, hooks.onWatch
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := cachestore.NewWithBackoff(w, opts, minBackoff, maxBackoff)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, w, clk, hooks, logs
}

// An event drops the token's entry, however long its TTL; other tokens
// and unknown digests stay cached.
func TestWatchEvents(t *testing.T) {
	ctx := context.Background()
	c, w, _, hooks, _ := newWatchedCache(t, cachestore.Options{TTL: time.Hour}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	sess.ready(t)
	assert.Equal(t, []string{"up"}, hooks.get())
	tok, other, theirs := newToken(t, "u1"), newToken(t, "u1"), newToken(t, "u2")
	for _, tk := range []*tokenauth.Token{tok, other, theirs} {
		createFound(t, c, tk)
	}
	unknown := newToken(t, "u3").Digest
	_, err := c.Find(ctx, unknown)
	require.ErrorIs(t, err, tokenauth.ErrNotFound)
	finds := w.finds.Load()

	// Another process deletes the token: only the event tells this cache.
	require.NoError(t, w.Store.Delete(ctx, tok.ID))
	_, err = c.Find(ctx, tok.Digest)
	require.NoError(t, err, "served from the cache before the event")
	sess.changed(t, tok.ID, tok.UserID)
	_, err = c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "dropped by the event")
	assert.Equal(t, finds+1, w.finds.Load())

	before := c.Stats()
	for _, d := range [][]byte{other.Digest, theirs.Digest} {
		_, err = c.Find(ctx, d)
		assert.NoError(t, err)
	}
	_, err = c.Find(ctx, unknown)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	after := c.Stats()
	assert.Equal(t, before.Hits+2, after.Hits, "the user's other token and another user's stay cached")
	assert.Equal(t, before.NegativeHits+1, after.NegativeHits, "unknown digests stay cached")

	// An event without a token ID stands for all of the user's tokens.
	require.NoError(t, w.Store.Delete(ctx, other.ID))
	sess.changed(t, "", "u1")
	_, err = c.Find(ctx, other.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	_, err = c.Find(ctx, theirs.Digest)
	assert.NoError(t, err)
}

// A lookup that read the store before the subscription was confirmed
// may have missed an event: it is not cached.
func TestWatchReadyDuringLookup(t *testing.T) {
	ctx := context.Background()
	c, w, _, _, _ := newWatchedCache(t, cachestore.Options{TTL: time.Hour}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	tok := newToken(t, "u1")
	require.NoError(t, w.Store.Create(ctx, tok.Clone()))
	w.gate = make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Find(ctx, tok.Digest) // reads the store, then waits
		done <- err
	}()
	waitMisses(t, c, 1)
	sess.ready(t)
	// Deleted after the lookup read it, with the event lost.
	require.NoError(t, w.Store.Delete(ctx, tok.ID))
	close(w.gate)
	require.NoError(t, <-done, "the lookup answers what it read")
	_, err := c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "but did not cache it")
}

// When the channel breaks the cache says so, falls back to its TTL or
// bypasses itself, resubscribes, and drops everything once back.
func TestWatchBreak(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	for _, bypass := range []bool{false, true} {
		name := "falls back to the TTL"
		if bypass {
			name = "bypasses the cache"
		}
		t.Run(name, func(t *testing.T) {
			c, w, clk, hooks, logs := newWatchedCache(t, cachestore.Options{TTL: ttl, BypassWhileUnwatched: bypass},
				time.Millisecond, time.Millisecond)
			sess := w.next(t)
			sess.ready(t)
			tok, kept := newToken(t, "u1"), newToken(t, "u2")
			createFound(t, c, tok)
			createFound(t, c, kept)

			sess.end <- errors.New("connection reset by peer")
			require.Eventually(t, func() bool { return len(hooks.get()) == 2 }, 5*time.Second, time.Millisecond)
			assert.Equal(t, []string{"up", "down: connection reset by peer"}, hooks.get())
			assert.Contains(t, logs.String(), "level=WARN msg=\"cachestore: invalidation channel is down")
			assert.Contains(t, logs.String(), "connection reset by peer")
			if bypass {
				assert.Contains(t, logs.String(), "every lookup goes to the store")
			} else {
				assert.Contains(t, logs.String(), "take up to the cache TTL")
			}

			// Revoked by another process while the channel is down.
			require.NoError(t, w.Store.Delete(ctx, tok.ID))
			sess = w.next(t) // the cache tries again
			finds := w.finds.Load()
			_, err := c.Find(ctx, tok.Digest)
			if bypass {
				assert.ErrorIs(t, err, tokenauth.ErrNotFound, "seen at once")
				for i := 0; i < 3; i++ {
					_, err = c.Find(ctx, kept.Digest)
					require.NoError(t, err)
				}
				assert.Equal(t, finds+4, w.finds.Load(), "every lookup reached the store")
			} else {
				assert.NoError(t, err, "served from the cache within the TTL")
				clk.Advance(ttl)
				_, err = c.Find(ctx, tok.Digest)
				assert.ErrorIs(t, err, tokenauth.ErrNotFound, "seen after the TTL")
				_, err = c.Find(ctx, kept.Digest)
				require.NoError(t, err, "cached again for a TTL")
			}

			sess.ready(t)
			assert.Equal(t, []string{"up", "down: connection reset by peer", "up"}, hooks.get())
			assert.Contains(t, logs.String(), "level=INFO msg=\"cachestore: invalidation channel is back")
			assert.Zero(t, c.Stats().Len, "everything cached was dropped on resubscribing")
			finds = w.finds.Load()
			for i := 0; i < 3; i++ {
				_, err = c.Find(ctx, kept.Digest)
				require.NoError(t, err)
			}
			assert.Equal(t, finds+1, w.finds.Load(), "cached again")
		})
	}
}

// Before the first subscription the cache is unwatched too.
func TestWatchBypassBeforeSubscribed(t *testing.T) {
	ctx := context.Background()
	c, w, _, _, _ := newWatchedCache(t, cachestore.Options{BypassWhileUnwatched: true}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	tok := newToken(t, "u1")
	require.NoError(t, w.Store.Create(ctx, tok.Clone()))
	for i := 0; i < 2; i++ {
		_, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, w.finds.Load())
	assert.EqualValues(t, 2, c.Stats().Misses)
	sess.ready(t)
	for i := 0; i < 2; i++ {
		_, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, w.finds.Load())
}

// Resubscription backs off exponentially, with jitter, up to the
// maximum; a subscription that lasted starts over from the minimum. Only
// one line per outage is logged above debug level.
func TestWatchBackoff(t *testing.T) {
	const minBackoff, maxBackoff = 20 * time.Millisecond, 400 * time.Millisecond
	_, w, _, hooks, logs := newWatchedCache(t, cachestore.Options{}, minBackoff, maxBackoff)
	sess := w.next(t)
	last := time.Now()
	delay := minBackoff
	for i := 0; i < 7; i++ {
		sess.end <- errors.New("refused")
		sess = w.next(t)
		gap := time.Since(last)
		last = time.Now()
		assert.GreaterOrEqual(t, gap, delay/2, "attempt %d came after %v; want at least half of %v", i+2, gap, delay)
		delay = min(2*delay, maxBackoff)
	}
	assert.Len(t, hooks.get(), 7, "the hook hears of every failure")
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per outage")

	sess.ready(t)
	time.Sleep(maxBackoff) // a subscription that lasted
	last = time.Now()
	sess.end <- errors.New("reset")
	w.next(t)
	assert.Less(t, time.Since(last), maxBackoff/2, "the delay started over")
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"))
}

// Close stops watching, without reporting a failure, and is idempotent.
func TestWatchClose(t *testing.T) {
	ctx := context.Background()
	c, w, _, hooks, _ := newWatchedCache(t, cachestore.Options{}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	sess.ready(t)
	require.NoError(t, c.Close())
	select {
	case <-sess.ctx.Done():
	default:
		t.Fatal("Watch's context did not end")
	}
	require.NoError(t, c.Close())
	select {
	case <-w.sessions:
		t.Fatal("the cache watched again after Close")
	case <-time.After(20 * time.Millisecond):
	}
	assert.Equal(t, []string{"up"}, hooks.get())
	tok := newToken(t, "u1")
	createFound(t, c, tok)
	_, err := c.Find(ctx, tok.Digest)
	assert.NoError(t, err, "the cache still works, on its TTL")
}

// The hook and the logger are optional.
func TestWatchDefaults(t *testing.T) {
	w := &watchedStore{innerStore: &innerStore{Store: memstore.New()}, sessions: make(chan *session)}
	c, err := cachestore.NewWithBackoff(w, cachestore.Options{}, time.Millisecond, time.Millisecond)
	require.NoError(t, err)
	sess := w.next(t)
	sess.ready(t)
	sess.end <- errors.New("reset")
	w.next(t).ready(t)
	assert.NoError(t, c.Close())
}

// Over a store that is no Watcher, Close has nothing to stop.
func TestCloseUnwatched(t *testing.T) {
	c, _, _ := newCache(t, cachestore.Options{})
	assert.NoError(t, c.Close())
	assert.NoError(t, c.Close())
}

// fullStore is an innerStore with the optional Expirer and BatchToucher,
// recording their calls.
type fullStore struct {
	*innerStore
	mu        sync.Mutex
	expired   []string
	batches   [][]tokenauth.TokenUse
	expireErr error
}

func (s *fullStore) Expire(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	s.expired = append(s.expired, id)
	s.mu.Unlock()
	return s.expireErr
}

func (s *fullStore) TouchBatch(ctx context.Context, uses []tokenauth.TokenUse) error {
	s.mu.Lock()
	s.batches = append(s.batches, uses)
	s.mu.Unlock()
	for _, u := range uses {
		if err := s.innerStore.Touch(ctx, u.ID, u.LastUsed, u.ExpiresAt); err != nil && !errors.Is(err, tokenauth.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Expire and TouchBatch pass through to the wrapped store when it has
// them, stand in for TouchBatch when it does not, and drop the entries
// of the tokens they change.
func TestExpireAndTouchBatch(t *testing.T) {
	ctx := context.Background()
	// Stores keep microseconds.
	at := time.Now().Add(time.Minute).Truncate(time.Microsecond)

	t.Run("passed through", func(t *testing.T) {
		inner := &innerStore{Store: memstore.New()}
		s := &fullStore{innerStore: inner}
		c, err := cachestore.New(s, cachestore.Options{})
		require.NoError(t, err)
		tok, other := newToken(t, "u1"), newToken(t, "u1")
		createFound(t, c, tok)
		createFound(t, c, other)

		require.NoError(t, c.Expire(ctx, tok.ID, at))
		assert.Equal(t, []string{tok.ID}, s.expired)
		s.expireErr = tokenauth.ErrNotFound
		assert.ErrorIs(t, c.Expire(ctx, "gone", at), tokenauth.ErrNotFound)

		uses := []tokenauth.TokenUse{{ID: other.ID, LastUsed: at}, {ID: "gone", LastUsed: at}}
		require.NoError(t, c.TouchBatch(ctx, uses))
		assert.Equal(t, [][]tokenauth.TokenUse{uses}, s.batches, "one batch")

		finds := inner.finds.Load()
		for _, tk := range []*tokenauth.Token{tok, other} {
			got, err := c.Find(ctx, tk.Digest)
			require.NoError(t, err)
			if tk == other {
				assert.True(t, got.LastUsedAt.Equal(at), "the touched record is read again")
			}
		}
		assert.Equal(t, finds+2, inner.finds.Load(), "both entries were dropped")
	})

	t.Run("wrapped store without them", func(t *testing.T) {
		c, inner, _ := newCache(t, cachestore.Options{})
		tok := newToken(t, "u1")
		createFound(t, c, tok)

		err := c.Expire(ctx, tok.ID, at)
		assert.ErrorIs(t, err, errors.ErrUnsupported, "the Authenticator falls back on this")

		uses := []tokenauth.TokenUse{{ID: tok.ID, LastUsed: at}, {ID: "gone", LastUsed: at}}
		require.NoError(t, c.TouchBatch(ctx, uses), "a token that is gone is skipped")
		assert.EqualValues(t, 2, inner.touches.Load(), "one Touch per use")
		finds := inner.finds.Load()
		got, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
		assert.True(t, got.LastUsedAt.Equal(at))
		assert.Equal(t, finds+1, inner.finds.Load(), "the entry was dropped")

		inner.touchErr = errors.New("connection refused")
		err = c.TouchBatch(ctx, uses)
		assert.ErrorIs(t, err, inner.touchErr, "a failure is reported")
		assert.EqualValues(t, 4, inner.touches.Load(), "after trying every use")
	})
}

// plainStore hides every optional interface of the store it wraps.
type plainStore struct{ tokenauth.Store }

// Rotate's grace period over a cache whose wrapped store cannot Expire:
// the Authenticator falls back to replacing the record, and the edges of
// the grace period hold with the cache on.
func TestRotateGraceWithoutExpirer(t *testing.T) {
	ctx := context.Background()
	const grace = time.Minute
	clk := tokenauthtest.NewClock()
	c, err := cachestore.New(plainStore{memstore.New()}, cachestore.Options{TTL: time.Hour, Now: clk.Now})
	require.NoError(t, err)
	a, err := tokenauth.New(c, tokenauth.Options{Now: clk.Now, TouchInterval: -1})
	require.NoError(t, err)
	oldKey, _, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	p, err := a.Verify(ctx, oldKey)
	require.NoError(t, err, "cached now")

	newKey, _, err := a.Rotate(ctx, p.Token, grace)
	require.NoError(t, err)
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err, "the new key works at once")
	clk.Advance(grace - time.Millisecond)
	q, err := a.Verify(ctx, oldKey)
	require.NoError(t, err, "the old key works until the grace period ends")
	assert.True(t, q.Token.ExpiresAt.Equal(clk.Now().Add(time.Millisecond)), "expires at the end of the grace period")
	clk.Advance(time.Millisecond)
	_, err = a.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, tokenauth.ErrExpired, "and never after")
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err)
}

// unwatchable is a Watcher that cannot watch as configured.
type unwatchable struct {
	tokenauth.Store
	calls atomic.Int64
}

func (u *unwatchable) Watch(context.Context, func(), func(string, string)) error {
	u.calls.Add(1)
	return fmt.Errorf("no listener configured: %w", errors.ErrUnsupported)
}

// A store that cannot watch is asked once, not retried forever: the cache
// then bounds revocations by its TTL, as over a store without Watch.
func TestWatchUnsupported(t *testing.T) {
	s := &unwatchable{Store: memstore.New()}
	var reports atomic.Int64
	c, err := cachestore.New(s, cachestore.Options{OnWatch: func(watching bool, err error) {
		assert.False(t, watching)
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		reports.Add(1)
	}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return reports.Load() == 1 }, time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 1, s.calls.Load(), "not retried")
	require.NoError(t, c.Close())
}

// With BypassWhileUnwatched, a store that can never watch does not turn
// the cache off for good: once it has said so, lookups are cached again,
// bounded by the TTL.
func TestWatchUnsupportedStopsBypass(t *testing.T) {
	s := &unwatchable{Store: memstore.New()}
	var reports atomic.Int64
	c, err := cachestore.New(s, cachestore.Options{
		BypassWhileUnwatched: true,
		OnWatch:              func(bool, error) { reports.Add(1) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	require.Eventually(t, func() bool { return reports.Load() == 1 }, time.Second, time.Millisecond)
	digest := create(t, c, newToken(t, "u1"))
	for range 3 {
		_, err := c.Find(context.Background(), digest)
		require.NoError(t, err)
	}
	assert.Equal(t, cachestore.Stats{Hits: 2, Misses: 1, Len: 1}, c.Stats())
}
