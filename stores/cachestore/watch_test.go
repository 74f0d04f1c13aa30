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
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// watchedStore is an innerStore that is a cachestore.Watcher driven by the
// test: each Watch call is a session that the test receives, confirms
// alive, sends events through, silences and ends.
type watchedStore struct {
	*innerStore
	sessions chan *session
}

type session struct {
	ctx context.Context
	do  chan func(alive func(), changed func(tokenID, userID string))
	end chan error
}

func (w *watchedStore) Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	s := &session{ctx: ctx, do: make(chan func(func(), func(string, string))), end: make(chan error, 1)}
	select {
	case w.sessions <- s:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		select {
		case f := <-s.do:
			f(alive, changed)
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
func (s *session) run(t *testing.T, f func(alive func(), changed func(tokenID, userID string))) {
	t.Helper()
	done := make(chan struct{})
	select {
	case s.do <- func(r func(), c func(string, string)) { f(r, c); close(done) }:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch is not running")
	}
	<-done
}

// alive has Watch confirm its subscription: the first time, that it is
// subscribed.
func (s *session) alive(t *testing.T) {
	t.Helper()
	s.run(t, func(alive func(), _ func(string, string)) { alive() })
}

func (s *session) changed(t *testing.T, tokenID, userID string) {
	t.Helper()
	s.run(t, func(_ func(), changed func(string, string)) { changed(tokenID, userID) })
}

// storeCalls looks digest up n times through c, finding it each time, and
// returns how many of the lookups reached s.
func storeCalls(t *testing.T, c *cachestore.Store, s *innerStore, digest []byte, n int) int64 {
	t.Helper()
	before := s.finds.Load()
	for range n {
		_, err := c.Find(context.Background(), digest)
		require.NoError(t, err)
	}
	return s.finds.Load() - before
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
	sess.alive(t)
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
func TestWatchAliveDuringLookup(t *testing.T) {
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
	sess.alive(t)
	// Deleted after the lookup read it, with the event lost.
	require.NoError(t, w.Store.Delete(ctx, tok.ID))
	close(w.gate)
	require.NoError(t, <-done, "the lookup answers what it read")
	_, err := c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "but did not cache it")
}

// When the channel breaks the cache says so, bypasses itself (or, with
// AllowStaleRevocations, falls back to its TTL), resubscribes, and drops
// everything once back.
func TestWatchBreak(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	for _, allowStale := range []bool{false, true} {
		name := "bypasses the cache"
		if allowStale {
			name = "AllowStaleRevocations falls back to the TTL"
		}
		t.Run(name, func(t *testing.T) {
			c, w, clk, hooks, logs := newWatchedCache(t, cachestore.Options{TTL: ttl, AllowStaleRevocations: allowStale},
				time.Millisecond, time.Millisecond)
			sess := w.next(t)
			sess.alive(t)
			tok, kept := newToken(t, "u1"), newToken(t, "u2")
			createFound(t, c, tok)
			createFound(t, c, kept)

			sess.end <- errors.New("connection reset by peer")
			require.Eventually(t, func() bool { return len(hooks.get()) == 2 }, 5*time.Second, time.Millisecond)
			assert.Equal(t, []string{"up", "down: connection reset by peer"}, hooks.get())
			assert.Contains(t, logs.String(), "level=WARN msg=\"cachestore: invalidation channel is down")
			assert.Contains(t, logs.String(), "connection reset by peer")
			if allowStale {
				assert.Contains(t, logs.String(), "take up to the cache TTL")
			} else {
				assert.Contains(t, logs.String(), "every lookup goes to the store")
			}
			assert.False(t, c.Stats().Watching)

			// Revoked by another process while the channel is down.
			require.NoError(t, w.Store.Delete(ctx, tok.ID))
			sess = w.next(t) // the cache tries again
			finds := w.finds.Load()
			_, err := c.Find(ctx, tok.Digest)
			if allowStale {
				assert.NoError(t, err, "served from the cache within the TTL")
				clk.Advance(ttl)
				_, err = c.Find(ctx, tok.Digest)
				assert.ErrorIs(t, err, tokenauth.ErrNotFound, "seen after the TTL")
				_, err = c.Find(ctx, kept.Digest)
				require.NoError(t, err, "cached again for a TTL")
			} else {
				assert.ErrorIs(t, err, tokenauth.ErrNotFound, "seen at once")
				assert.Equal(t, finds+1, w.finds.Load())
				assert.EqualValues(t, 3, storeCalls(t, c, w.innerStore, kept.Digest, 3), "every lookup reaches the store")
			}

			sess.alive(t)
			assert.Equal(t, []string{"up", "down: connection reset by peer", "up"}, hooks.get())
			assert.Contains(t, logs.String(), "level=INFO msg=\"cachestore: invalidation channel is back")
			assert.Zero(t, c.Stats().Len, "everything cached was dropped on resubscribing")
			assert.True(t, c.Stats().Watching)
			assert.EqualValues(t, 1, c.Stats().Reconnects)
			assert.EqualValues(t, 1, storeCalls(t, c, w.innerStore, kept.Digest, 3), "cached again")
		})
	}
}

// Before the first subscription the cache is unwatched: every lookup goes
// to the store, and none is cached.
func TestWatchBypassBeforeSubscribed(t *testing.T) {
	ctx := context.Background()
	c, w, _, _, _ := newWatchedCache(t, cachestore.Options{}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	tok := newToken(t, "u1")
	require.NoError(t, w.Store.Create(ctx, tok.Clone()))
	for i := 0; i < 2; i++ {
		_, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, w.finds.Load())
	assert.Equal(t, cachestore.Stats{Misses: 2}, c.Stats())
	sess.alive(t)
	for i := 0; i < 2; i++ {
		_, err := c.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, w.finds.Load())
}

// newSilence returns a watched cache, subscribed, that holds tok and kept;
// then the subscription freezes (no confirmation, no event, no return)
// and tok is revoked by another process, whose event is held back.
func newSilence(t *testing.T) (*cachestore.Store, *watchedStore, *tokenauthtest.Clock, *hookLog, *session, *tokenauth.Token, *tokenauth.Token) {
	t.Helper()
	c, w, clk, hooks, _ := newWatchedCache(t, cachestore.Options{TTL: time.Hour}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	sess.alive(t)
	tok, kept := newToken(t, "u1"), newToken(t, "u2")
	createFound(t, c, tok)
	createFound(t, c, kept)
	require.NoError(t, w.Store.Delete(context.Background(), tok.ID))
	return c, w, clk, hooks, sess, tok, kept
}

// Finding 6: a subscription that goes silent, as a LISTEN connection that
// froze does (the watcher neither confirms it nor returns, until the
// store's own health check gives up, 30 to 40 seconds later), leaves the
// cache unwatched aliveFor (3 s) after its last confirmation: a token
// revoked meanwhile by another process is refused from then on, not once
// the health check or the TTL has run out. Once the watcher subscribes
// again the cache drops everything it held.
func TestWatchSilence(t *testing.T) {
	ctx := context.Background()
	c, w, clk, hooks, sess, tok, kept := newSilence(t)
	clk.Advance(2 * time.Second)
	_, err := c.Find(ctx, tok.Digest)
	assert.NoError(t, err, "within aliveFor the cache still answers")
	assert.True(t, c.Stats().Watching)
	clk.Advance(time.Second)
	_, err = c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "3 s after the last confirmation the store is asked")
	assert.EqualValues(t, 3, storeCalls(t, c, w.innerStore, kept.Digest, 3), "every lookup reaches the store while silent")
	assert.False(t, c.Stats().Watching)
	assert.Equal(t, []string{"up"}, hooks.get(), "the subscription has not ended")

	// The store's health check gives up; the cache subscribes again and
	// drops what it held, as events may have been lost.
	clk.Advance(30 * time.Second)
	sess.end <- errors.New("ping timed out")
	sess = w.next(t)
	sess.alive(t)
	assert.Equal(t, []string{"up", "down: ping timed out", "up"}, hooks.get())
	assert.Zero(t, c.Stats().Len, "everything cached was dropped on resubscribing")
	assert.EqualValues(t, 1, storeCalls(t, c, w.innerStore, kept.Digest, 3), "cached again")
}

// A subscription that goes silent and then confirms itself again without
// ending has lost no event: the store queued them, and delivers them
// before the confirmation. The cache trusts what it holds again, and the
// queued events drop what they name.
func TestWatchSilenceThenAlive(t *testing.T) {
	ctx := context.Background()
	c, w, clk, hooks, sess, tok, kept := newSilence(t)
	clk.Advance(5 * time.Second)
	assert.False(t, c.Stats().Watching)
	_, err := c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "unwatched: the store is asked")

	sess.changed(t, tok.ID, tok.UserID) // the queued event, then
	sess.alive(t)
	assert.True(t, c.Stats().Watching)
	assert.Equal(t, []string{"up"}, hooks.get(), "the same subscription")
	assert.Zero(t, storeCalls(t, c, w.innerStore, kept.Digest, 3), "what was cached before the silence is served again")
	_, err = c.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
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

	sess.alive(t)
	time.Sleep(maxBackoff) // a subscription that lasted
	last = time.Now()
	sess.end <- errors.New("reset")
	w.next(t)
	assert.Less(t, time.Since(last), maxBackoff/2, "the delay started over")
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"))
}

// Close stops watching, without reporting a failure, and is idempotent.
// From then on every lookup goes to the store.
func TestWatchClose(t *testing.T) {
	ctx := context.Background()
	c, w, _, hooks, _ := newWatchedCache(t, cachestore.Options{}, time.Millisecond, time.Millisecond)
	sess := w.next(t)
	sess.alive(t)
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
	finds := w.finds.Load()
	_, err := c.Find(ctx, tok.Digest)
	assert.NoError(t, err, "the cache still works")
	assert.Equal(t, finds+1, w.finds.Load(), "through the store")
}

// The hook and the logger are optional.
func TestWatchDefaults(t *testing.T) {
	w := &watchedStore{innerStore: &innerStore{Store: memstore.New()}, sessions: make(chan *session)}
	c, err := cachestore.NewWithBackoff(w, cachestore.Options{}, time.Millisecond, time.Millisecond)
	require.NoError(t, err)
	sess := w.next(t)
	sess.alive(t)
	sess.end <- errors.New("reset")
	w.next(t).alive(t)
	assert.NoError(t, c.Close())
}

// Over a store that is no Watcher, Close has nothing to stop.
func TestCloseUnwatched(t *testing.T) {
	c, _, _ := newCache(t, cachestore.Options{})
	assert.NoError(t, c.Close())
	assert.NoError(t, c.Close())
}

// Expire and Touch pass through to the wrapped store, errors included,
// and drop the entries of the tokens they change; Touch passes its batch
// as one call.
func TestExpireAndTouchPassThrough(t *testing.T) {
	ctx := context.Background()
	// Stores keep microseconds.
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	c, inner, _ := newCache(t, cachestore.Options{})
	tok, other := newToken(t, "u1"), newToken(t, "u1")
	createFound(t, c, tok)
	createFound(t, c, other)

	require.NoError(t, c.Expire(ctx, tok.ID, at))
	assert.ErrorIs(t, c.Expire(ctx, "gone", at), tokenauth.ErrNotFound)

	uses := []tokenauth.TokenUse{{ID: other.ID, LastUsed: at}, {ID: "gone", LastUsed: at}}
	require.NoError(t, c.Touch(ctx, uses), "a token that is gone is skipped")
	assert.EqualValues(t, 1, inner.touches.Load(), "one batch")

	finds := inner.finds.Load()
	got, err := c.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.True(t, got.ExpiresAt.Equal(at), "the expired record is read again")
	got, err = c.Find(ctx, other.Digest)
	require.NoError(t, err)
	assert.True(t, got.LastUsedAt.Equal(at), "the touched record is read again")
	assert.Equal(t, finds+2, inner.finds.Load(), "both entries were dropped")

	inner.touchErr = errors.New("connection refused")
	assert.ErrorIs(t, c.Touch(ctx, uses), inner.touchErr, "a failure is reported")
	finds = inner.finds.Load()
	_, err = c.Find(ctx, other.Digest)
	require.NoError(t, err)
	assert.Equal(t, finds+1, inner.finds.Load(), "and the entry dropped all the same: the write may have landed")
}

// Rotate's grace period over the cache: the old key is cached when Rotate
// runs, and the edges of the grace period hold all the same.
func TestRotateGrace(t *testing.T) {
	ctx := context.Background()
	const grace = time.Minute
	a, _, clk := newCachedAuth(t, tokenauth.Options{TouchInterval: -1}, cachestore.Options{TTL: time.Hour})
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
	*innerStore
	calls atomic.Int64
}

func (u *unwatchable) Watch(context.Context, func(), func(string, string)) error {
	u.calls.Add(1)
	return fmt.Errorf("no listener configured: %w", errors.ErrUnsupported)
}

// A store that cannot watch is asked once, not retried forever, and the
// failure is logged as an error. The cache then sends every lookup to the
// store; with AllowStaleRevocations it caches them, bounded by the TTL.
func TestWatchUnsupported(t *testing.T) {
	for _, allowStale := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowStaleRevocations=%t", allowStale), func(t *testing.T) {
			s := &unwatchable{innerStore: &innerStore{Store: memstore.New()}}
			var reports atomic.Int64
			logs := &syncBuffer{}
			c, err := cachestore.New(s, cachestore.Options{
				AllowStaleRevocations: allowStale,
				Logger:                slog.New(slog.NewTextHandler(logs, nil)),
				OnWatch: func(watching bool, err error) {
					assert.False(t, watching)
					assert.ErrorIs(t, err, errors.ErrUnsupported)
					reports.Add(1)
				},
			})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, c.Close()) })
			require.Eventually(t, func() bool { return reports.Load() == 1 }, time.Second, time.Millisecond)
			time.Sleep(50 * time.Millisecond)
			assert.EqualValues(t, 1, s.calls.Load(), "not retried")
			assert.Contains(t, logs.String(), "level=ERROR msg=\"cachestore: the wrapped store cannot watch revocations")
			assert.Contains(t, logs.String(), "no listener configured")

			digest := create(t, c, newToken(t, "u1"))
			for range 3 {
				_, err := c.Find(context.Background(), digest)
				require.NoError(t, err)
			}
			if allowStale {
				assert.Contains(t, logs.String(), "take up to the cache TTL")
				assert.Equal(t, cachestore.Stats{Hits: 2, Misses: 1, Len: 1}, c.Stats())
			} else {
				assert.Contains(t, logs.String(), "every lookup goes to the store")
				assert.Equal(t, cachestore.Stats{Misses: 3}, c.Stats())
				assert.EqualValues(t, 3, s.finds.Load())
			}
		})
	}
}

// eventStore is a memstore that is a cachestore.Watcher, as the stores of
// this repository are: every Watch hears of the deletions and early
// expiries made by any user of the store, and confirms itself alive every
// 100 ms. It is checked by tokenauthtest.RunWatcherTests.
type eventStore struct {
	*memstore.Store
	mu    sync.Mutex
	users map[string]string // token ID -> user ID, for Expire's events
	subs  map[chan [2]string]bool
}

func newEventStore() *eventStore {
	return &eventStore{Store: memstore.New(), users: make(map[string]string), subs: make(map[chan [2]string]bool)}
}

// publish tells every Watch that the token (or, with no ID, all of the
// user's tokens) changed. It is called after the change, so that a cache
// that drops an entry cannot read the old record again.
func (s *eventStore) publish(tokenID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		ch <- [2]string{tokenID, userID}
	}
}

func (s *eventStore) Create(ctx context.Context, t *tokenauth.Token) error {
	if t == nil {
		return s.Store.Create(ctx, t)
	}
	id, user := t.ID, t.UserID
	if err := s.Store.Create(ctx, t); err != nil {
		return err
	}
	s.mu.Lock()
	s.users[id] = user
	s.mu.Unlock()
	return nil
}

func (s *eventStore) userOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

func (s *eventStore) Delete(ctx context.Context, id string) error {
	if err := s.Store.Delete(ctx, id); err != nil {
		return err
	}
	s.publish(id, s.userOf(id))
	return nil
}

func (s *eventStore) Expire(ctx context.Context, id string, at time.Time) error {
	if err := s.Store.Expire(ctx, id, at); err != nil {
		return err
	}
	s.publish(id, s.userOf(id))
	return nil
}

func (s *eventStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	n, err := s.Store.DeleteUser(ctx, userID, before, keep...)
	if err == nil {
		s.publish("", userID)
	}
	return n, err
}

func (s *eventStore) Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	// Buffered well beyond what a test publishes, so that publish, which
	// holds the lock, never waits for a Watch that is returning.
	ch := make(chan [2]string, 1<<14)
	s.mu.Lock()
	s.subs[ch] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	alive()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-ch:
			changed(ev[0], ev[1])
		case <-tick.C:
			alive()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// The test double keeps the Watcher contract.
func TestEventStore(t *testing.T) {
	tokenauthtest.RunWatcherTests(t, func(t *testing.T) tokenauth.Store { return newEventStore() })
}

// Two replicas, each with its cache over the shared store: a revocation
// through either reaches the other's cache at once, however long the TTL.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	shared := newEventStore()
	var replicas [2]*tokenauth.Authenticator
	var caches [2]*cachestore.Store
	for i := range replicas {
		c, err := cachestore.New(shared, cachestore.Options{TTL: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		require.Eventually(t, func() bool { return c.Stats().Watching }, 5*time.Second, time.Millisecond)
		a, err := tokenauth.New(c, tokenauth.Options{TouchInterval: -1})
		require.NoError(t, err)
		replicas[i], caches[i] = a, c
	}
	tests := []struct {
		name   string
		revoke func(a *tokenauth.Authenticator, tok *tokenauth.Token) error
		want   error
	}{
		{"Revoke", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error { return a.Revoke(ctx, tok.ID) }, tokenauth.ErrInvalidToken},
		{"RevokeAll", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			_, err := a.RevokeAll(ctx, tok.UserID)
			return err
		}, tokenauth.ErrInvalidToken},
		{"Rotate", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			_, _, err := a.Rotate(ctx, tok, 0)
			return err
		}, tokenauth.ErrInvalidToken},
		{"Rotate with grace", func(a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			// A grace period that has already ended: Expire's event.
			_, _, err := a.Rotate(ctx, tok, time.Nanosecond)
			time.Sleep(time.Millisecond)
			return err
		}, tokenauth.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, tok, err := replicas[0].Issue(ctx, "u-"+tc.name, tokenauth.IssueOptions{})
			require.NoError(t, err)
			for _, a := range replicas {
				_, err := a.Verify(ctx, key)
				require.NoError(t, err, "cached by each replica")
			}
			hits := caches[1].Stats().Hits
			_, err = replicas[1].Verify(ctx, key)
			require.NoError(t, err)
			require.Equal(t, hits+1, caches[1].Stats().Hits, "answered from the cache")

			require.NoError(t, tc.revoke(replicas[0], tok))
			require.Eventually(t, func() bool {
				_, err := replicas[1].Verify(ctx, key)
				return errors.Is(err, tc.want)
			}, 5*time.Second, time.Millisecond, "the other replica still accepts the key")
		})
	}
}
