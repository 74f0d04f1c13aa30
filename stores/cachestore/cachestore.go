// Package cachestore is a tokenauth.Store that keeps recently found tokens
// in memory in front of another Store, so that the hot path of a service
// running on many replicas rarely reaches the shared database.
//
//	cache, err := cachestore.New(shared, cachestore.Options{})
//	if err != nil {
//		return err
//	}
//	defer cache.Close()
//	auth, err := tokenauth.New(cache, tokenauth.Options{})
//
// Revocations stay final. The cache watches the store it wraps (a
// Watcher: redisstore, sqlstore): a token revoked, logged out or rotated
// by any process (another replica, the CLI, plain SQL) is dropped here as
// soon as the store's event arrives, a few milliseconds after the change
// (the poll interval on stores that poll). The watcher confirms its
// subscription every second; while it is not confirmed (at start, after a
// break, or for 3 seconds of silence from a connection that froze), every
// lookup goes to the wrapped store, and once subscribed again the cache
// drops everything it held, as it may have missed events. New refuses a
// store that cannot watch.
//
// Options.AllowStaleRevocations trades that for load: the cache then also
// works over a store without events, and keeps answering from memory
// while unwatched, so that a token revoked by another process is accepted
// here for up to Options.TTL.
//
// Its other guarantees:
//
//   - A revocation, rotation or touch made through this Store (and so
//     through an Authenticator built on it) drops the token's entries
//     before it returns: this process never serves it stale afterwards.
//   - Digests the wrapped store did not know are remembered for
//     Options.NegativeTTL (5 seconds by default), so that a flood of bad
//     tokens does not reach the database; a token created through this
//     Store is known at once.
//   - Expiry is checked by the Authenticator on every request, against
//     cached records too.
//   - Concurrent misses for the same digest make one store call, whose
//     answer they share. Store errors are never cached.
//   - Memory is bounded by Options.Size, and unknown digests cannot evict
//     found tokens.
package cachestore

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// Size is how many found tokens the cache holds; past it, entries not
	// used lately are evicted. Digests the wrapped store did not know are
	// held apart, in up to a quarter as many more entries, so that a flood
	// of unknown tokens cannot evict valid ones. Default 10000.
	Size int

	// TTL is how long a found token is answered from the cache before the
	// wrapped store is asked again. Default 30 seconds.
	TTL time.Duration

	// NegativeTTL is how long a digest the wrapped store did not know is
	// answered "not found" from the cache. Default 5 seconds; a negative
	// value turns negative caching off.
	NegativeTTL time.Duration

	// AllowStaleRevocations lets a revocation made by another process go
	// unseen here for up to TTL: over a store that is no Watcher, and
	// while the subscription to its events is down. By default New refuses
	// a store that is no Watcher, and lookups go to the wrapped store
	// while unwatched.
	AllowStaleRevocations bool

	// OnWatch, when set, is called as the cache's subscription to the
	// wrapped store's events changes: with true and a nil error each time
	// it is established, with false and the error each time it breaks or
	// an attempt to establish it fails. Export it as a metric. It is
	// called from the watching goroutine and must not block.
	OnWatch func(watching bool, err error)

	// Logger receives a line when the subscription breaks and when it is
	// back. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Stats are a Store's counters since it was created, for metrics.
type Stats struct {
	// Hits counts lookups answered with a cached token.
	Hits uint64
	// NegativeHits counts lookups answered "not found" from the cache.
	NegativeHits uint64
	// Misses counts lookups that waited for the wrapped store, including
	// those that shared a concurrent lookup's store call and those sent
	// to it while unwatched.
	Misses uint64
	// Evictions counts entries dropped before their TTL to make room for
	// others; a steady rate means Size is too small.
	Evictions uint64
	// Len is the number of entries held now, found and not found.
	Len int
	// Watching reports whether the cache hears the wrapped store's
	// revocations now; Reconnects counts the subscriptions that broke.
	Watching   bool
	Reconnects uint64
}

// Store is a tokenauth.Store that answers Find from memory when it can and
// passes everything else to the store it wraps, dropping the entries that
// a change makes stale. List passes straight through. It is safe for
// concurrent use; the zero value is not usable, call New, and Close when
// done.
type Store struct {
	inner       tokenauth.Store
	ttl         time.Duration
	negativeTTL time.Duration
	now         func() time.Time
	watch       watchState

	// One lock guards the rest: a hit holds it for a map lookup and a
	// list move.
	mu       sync.Mutex
	byDigest map[string]*entry          // every entry, by string(digest)
	byID     map[string]*entry          // found tokens, by token ID
	byUser   map[string]map[*entry]bool // found tokens, by user ID
	// Found tokens and unknown digests are kept in separate lists, most
	// recently used first, so that unknown ones never evict found ones.
	found, notFound       list.List
	maxFound, maxNotFound int
	flights               map[string]*flight // lookups in progress, by string(digest)
	stats                 Stats              // the counters; Stats fills in the rest
}

var _ tokenauth.Store = (*Store)(nil)

// entry is a cached answer for one digest: a token, or "not found" when
// tok is nil.
type entry struct {
	key     string // string(digest)
	tok     *tokenauth.Token
	loaded  time.Time     // when the wrapped store was asked
	expires time.Time     // loaded plus the TTL that applies
	elem    *list.Element // in found or notFound
}

// fresh reports whether e may answer a lookup at now.
func (e *entry) fresh(now time.Time) bool {
	if !now.Before(e.expires) {
		return false
	}
	// A record that expired while cached is read once more: another
	// replica may have moved a sliding expiry forward.
	return e.tok == nil || !e.tok.Expired(now) || !e.tok.ExpiresAt.After(e.loaded)
}

const (
	defaultSize        = 10000
	defaultTTL         = 30 * time.Second
	defaultNegativeTTL = 5 * time.Second
)

// New returns a Store in front of s and starts a goroutine that watches s,
// until Close. It returns an error wrapping tokenauth.ErrInvalidOptions
// when s is nil, Size or TTL is negative, or s is no Watcher and
// Options.AllowStaleRevocations is not set.
func New(s tokenauth.Store, opts Options) (*Store, error) {
	return newStore(s, opts, defaultMinBackoff, defaultMaxBackoff)
}

// newStore is New with the resubscription delays, for tests.
func newStore(s tokenauth.Store, opts Options, minBackoff, maxBackoff time.Duration) (*Store, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: cachestore: store is nil", tokenauth.ErrInvalidOptions)
	}
	if opts.Size < 0 || opts.TTL < 0 {
		return nil, fmt.Errorf("%w: cachestore: Size and TTL must not be negative", tokenauth.ErrInvalidOptions)
	}
	w, watchable := s.(Watcher)
	if !watchable && !opts.AllowStaleRevocations {
		return nil, fmt.Errorf("%w: cachestore: %T cannot tell the cache of revocations made by other processes (it is no cachestore.Watcher); "+
			"set Options.AllowStaleRevocations to accept that they take up to the TTL to be seen", tokenauth.ErrInvalidOptions, s)
	}
	c := &Store{
		inner: s, ttl: cmp.Or(opts.TTL, defaultTTL), negativeTTL: cmp.Or(opts.NegativeTTL, defaultNegativeTTL), now: opts.Now,
		byDigest: make(map[string]*entry), byID: make(map[string]*entry), byUser: make(map[string]map[*entry]bool),
		flights: make(map[string]*flight),
	}
	c.maxFound = cmp.Or(opts.Size, defaultSize)
	c.maxNotFound = max(1, c.maxFound/4)
	if c.now == nil {
		c.now = time.Now
	}
	if watchable {
		c.startWatching(w, opts, minBackoff, maxBackoff)
	}
	return c, nil
}

// Close stops watching the wrapped store's events; from then on every
// lookup goes to the wrapped store (unless stale answers are allowed). It
// does not close the wrapped store. Call it when the service shuts down.
func (c *Store) Close() error {
	c.stopWatching()
	return nil
}

// Find returns the cached answer for digest when it is fresh, and asks the
// wrapped store otherwise, once for all concurrent lookups of the digest.
func (c *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := c.now()
	c.mu.Lock()
	if c.watch.bypassing(now) {
		c.stats.Misses++
		c.mu.Unlock()
		return c.inner.Find(ctx, digest)
	}
	if e := c.lookup(digest, now); e != nil {
		c.mu.Unlock()
		return answer(e)
	}
	c.stats.Misses++
	for {
		f := c.flights[string(digest)]
		if f == nil {
			key := string(digest)
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.mu.Unlock()
			c.load(ctx, key, digest, f, now)
			return f.tok, f.err
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !f.retry {
			return f.tok, f.err
		}
		now = c.now()
		c.mu.Lock()
		if e := c.lookup(digest, now); e != nil {
			c.mu.Unlock()
			return answer(e)
		}
	}
}

// answer returns e's answer.
func answer(e *entry) (*tokenauth.Token, error) {
	if e.tok == nil {
		return nil, tokenauth.ErrNotFound
	}
	return e.tok, nil
}

// lookup returns the entry that may answer for digest at now, counting
// the hit, and drops a stale one. c.mu must be held.
func (c *Store) lookup(digest []byte, now time.Time) *entry {
	e := c.byDigest[string(digest)]
	if e == nil {
		return nil
	}
	if !e.fresh(now) {
		c.remove(e)
		return nil
	}
	if e.tok == nil {
		c.notFound.MoveToFront(e.elem)
		c.stats.NegativeHits++
	} else {
		c.found.MoveToFront(e.elem)
		c.stats.Hits++
	}
	return e
}

// insert caches e, evicting the least recently used entry of its kind if
// there are too many. c.mu must be held.
func (c *Store) insert(e *entry, now time.Time) {
	if old := c.byDigest[e.key]; old != nil {
		c.remove(old)
	}
	l, size := &c.notFound, c.maxNotFound
	if e.tok != nil {
		l, size = &c.found, c.maxFound
		if old := c.byID[e.tok.ID]; old != nil {
			c.remove(old)
		}
	}
	if l.Len() >= size {
		victim := l.Back().Value.(*entry)
		if now.Before(victim.expires) {
			c.stats.Evictions++
		}
		c.remove(victim)
	}
	e.elem = l.PushFront(e)
	c.byDigest[e.key] = e
	if e.tok == nil {
		return
	}
	c.byID[e.tok.ID] = e
	user := c.byUser[e.tok.UserID]
	if user == nil {
		user = make(map[*entry]bool)
		c.byUser[e.tok.UserID] = user
	}
	user[e] = true
}

// remove drops e. c.mu must be held.
func (c *Store) remove(e *entry) {
	delete(c.byDigest, e.key)
	if e.tok == nil {
		c.notFound.Remove(e.elem)
		return
	}
	c.found.Remove(e.elem)
	delete(c.byID, e.tok.ID)
	user := c.byUser[e.tok.UserID]
	delete(user, e)
	if len(user) == 0 {
		delete(c.byUser, e.tok.UserID)
	}
}

// Create passes t to the wrapped store, then forgets that its digest was
// not found, so the new token works here at once.
func (c *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if t == nil {
		return errors.New("cachestore: create: nil token")
	}
	// t belongs to the wrapped store once passed: take what is needed first.
	digest := slices.Clone(t.Digest)
	err := c.inner.Create(ctx, t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byDigest[string(digest)]; e != nil {
		c.remove(e)
	}
	if f := c.flights[string(digest)]; f != nil {
		f.stale = true
		delete(c.flights, string(digest))
	}
	return err
}

// Delete deletes the token from the wrapped store and drops its entry.
func (c *Store) Delete(ctx context.Context, id string) error {
	err := c.inner.Delete(ctx, id)
	c.forgetID(id)
	return err
}

// DeleteUser deletes the user's tokens from the wrapped store and drops
// their entries.
func (c *Store) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	n, err := c.inner.DeleteUser(ctx, userID, before, keep...)
	c.forgetUser(userID)
	return n, err
}

// List passes through to the wrapped store.
func (c *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	return c.inner.List(ctx, userID)
}

// Touch records the uses in the wrapped store and drops the tokens'
// entries, so the next lookup reads the new LastUsedAt and ExpiresAt.
func (c *Store) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	err := c.inner.Touch(ctx, uses)
	ids := make([]string, len(uses))
	for i, u := range uses {
		ids[i] = u.ID
	}
	c.forgetID(ids...)
	return err
}

// Expire brings the token's expiry forward in the wrapped store and drops
// its entry.
func (c *Store) Expire(ctx context.Context, id string, at time.Time) error {
	err := c.inner.Expire(ctx, id, at)
	c.forgetID(id)
	return err
}

// forgetID drops the entries of the tokens with the given IDs, and keeps
// lookups in progress from caching them.
func (c *Store) forgetID(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if e := c.byID[id]; e != nil {
			c.remove(e)
		}
	}
	c.detachFlights()
}

// forgetUser drops the entries of the user's tokens, and keeps lookups in
// progress from caching them.
func (c *Store) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := range c.byUser[userID] {
		c.remove(e)
	}
	c.detachFlights()
}

// forgetAll drops every entry, and keeps lookups in progress from caching
// what they find.
func (c *Store) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byDigest)
	clear(c.byID)
	clear(c.byUser)
	c.found.Init()
	c.notFound.Init()
	c.detachFlights()
}

// Stats returns the Store's counters.
func (c *Store) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	s.Len = len(c.byDigest)
	c.mu.Unlock()
	s.Watching, s.Reconnects = c.watch.watched(c.now()), c.watch.reconnects.Load()
	return s
}
