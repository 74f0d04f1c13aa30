// Package cachestore is a tokenauth.Store that keeps recently found tokens
// in memory in front of another Store, so that the hot path of a service
// running on many replicas rarely reaches the shared database.
//
//	cache, err := cachestore.New(shared, cachestore.Options{TTL: 10 * time.Second})
//	if err != nil {
//		return err
//	}
//	defer cache.Close()
//	auth, err := tokenauth.New(cache, tokenauth.Options{})
//
// The revocation bound. When the wrapped store is a tokenauth.Watcher
// (redisstore; sqlstore where it has an invalidation channel), the cache
// watches it: a token revoked, logged out or rotated by any process
// (another replica, the CLI) is dropped here as soon as the store's event
// arrives, a few milliseconds after the change. Options.TTL bounds the delay
// only while the channel is down: when it breaks, the cache logs it, calls
// Options.OnWatch, and until it has subscribed again either keeps
// answering from memory for up to the TTL (the default) or, with
// Options.BypassWhileUnwatched, asks the wrapped store on every lookup. It
// resubscribes with backoff, and drops every entry once subscribed, as it
// may have missed events meanwhile. A connection that dies silently is
// noticed within the store's own health check (2 seconds for redisstore);
// events lost in that window are bounded by the TTL too.
//
// Over a store that is no Watcher, a token revoked by another process is
// still accepted by this process for up to Options.TTL, 30 seconds by
// default: choose the TTL as the longest delay you accept. Skip the cache
// over memstore, which is memory already.
//
// Its other guarantees:
//
//   - A revocation, rotation or touch made through this Store (and so
//     through an Authenticator built on it) drops the token's entry before
//     it returns: this process never serves it stale afterwards, and a
//     lookup begun after it never shares a store call begun before it. An
//     event from the wrapped store does the same.
//   - Digests the wrapped store did not know are remembered for
//     Options.NegativeTTL (5 seconds by default), so that a flood of bad
//     tokens does not reach the database. A token created by another
//     process is therefore refused here for up to NegativeTTL if this
//     process looked its digest up just before it was created. Tokens are
//     random, so in practice only a key presented before it was stored can
//     meet this (a legacy key tried during its import, say); a token
//     created through this Store is never affected.
//   - Expiry is not cached: the Authenticator checks ExpiresAt on every
//     request against the cached record, and a record that expires while
//     cached is read again once, so that a sliding expiry extended by
//     another replica is honoured.
//   - Concurrent misses for the same digest make one store call, whose
//     answer they share; if that call panics, the others get an error and
//     the panic goes on in the goroutine that made it. Store errors are
//     never cached.
//   - Memory is bounded by Options.Size: past it, entries not used lately
//     are evicted (CLOCK, an approximation of LRU), and unknown digests
//     cannot evict found tokens.
//
// A hit takes no lock and writes no memory that other cores read, so that
// its cost does not grow with them, even when every request carries the
// same token: the entry is found through a table that lookups read without
// a lock, and that the holder of its shard's lock changes with atomic
// stores, so that a lookup begun after an entry was dropped cannot reach
// it; CLOCK's bit is written only when the hand has cleared it; and hits
// are counted on per-processor stripes. A miss locks one of up to 16
// shards; an invalidation by token ID or user locks each shard in turn,
// since entries are placed by digest. A hit does not allocate; it returns the wrapped
// store's record itself, which is read-only by the tokenauth.Store
// contract.
package cachestore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync/atomic"
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
	// wrapped store is asked again. It bounds how long a revocation made by
	// another process goes unnoticed here, when the wrapped store is no
	// tokenauth.Watcher or its channel is down. Default 30 seconds.
	TTL time.Duration

	// NegativeTTL is how long a digest the wrapped store did not know is
	// answered "not found" from the cache. Default 5 seconds; a negative
	// value turns negative caching off.
	NegativeTTL time.Duration

	// BypassWhileUnwatched, over a store that is a tokenauth.Watcher,
	// sends every lookup to the wrapped store while the cache is not
	// subscribed to its events (before the first subscription and while
	// the channel is down), so that no revocation is ever seen late, at
	// the price of the store's load. By default the cache keeps answering
	// for up to TTL meanwhile. It has no effect over other stores.
	BypassWhileUnwatched bool

	// OnWatch, when set, is called as the cache's subscription to the
	// wrapped store's events changes: with true and a nil error each time
	// it is established, with false and the error each time it breaks or
	// an attempt to establish it fails. Export it as a metric (a gauge of
	// watching, a counter of errors): while false, revocations by other
	// processes take up to TTL to be seen here. It is called from the
	// watching goroutine and must not block.
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
	// to it while unwatched (Options.BypassWhileUnwatched).
	Misses uint64
	// Evictions counts entries dropped before their TTL to make room for
	// others; a steady rate means Size is too small.
	Evictions uint64
	// Len is the number of entries held now, found and not found.
	Len int
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
	seed        maphash.Seed
	shards      []shard
	shardShift  uint // a digest's shard is its hash's top bits
	hits        hitCounts
	bypassed    atomic.Uint64 // lookups sent to the wrapped store unwatched

	watch watchState
}

var (
	_ tokenauth.Store          = (*Store)(nil)
	_ tokenauth.ExpiredDeleter = (*Store)(nil)
	_ tokenauth.Expirer        = (*Store)(nil)
	_ tokenauth.BatchToucher   = (*Store)(nil)
)

const (
	defaultSize        = 10000
	defaultTTL         = 30 * time.Second
	defaultNegativeTTL = 5 * time.Second
	// maxShards bounds lock striping; minShardSize keeps small caches in
	// few shards, so that CLOCK sees enough entries to choose well.
	maxShards    = 16
	minShardSize = 256
)

// New returns a Store in front of s. When s is a tokenauth.Watcher, New
// starts a goroutine that watches it, until Close. It returns an error
// wrapping tokenauth.ErrInvalidOptions when s is nil or Size or TTL is
// negative.
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
	size, ttl, negativeTTL := opts.Size, opts.TTL, opts.NegativeTTL
	if size == 0 {
		size = defaultSize
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
	if negativeTTL == 0 {
		negativeTTL = defaultNegativeTTL
	}
	c := &Store{inner: s, ttl: ttl, negativeTTL: negativeTTL, now: opts.Now, seed: maphash.MakeSeed(), hits: newHitCounts()}
	if c.now == nil {
		c.now = time.Now
	}
	n, shift := 1, uint(64)
	for n < maxShards && size/(2*n) >= minShardSize {
		n, shift = 2*n, shift-1
	}
	c.shards, c.shardShift = make([]shard, n), shift
	for i := range c.shards {
		found := size / n
		if i < size%n {
			found++
		}
		c.shards[i].init(found)
	}
	if w, ok := s.(tokenauth.Watcher); ok {
		c.startWatching(w, opts, minBackoff, maxBackoff)
	}
	return c, nil
}

// Close stops watching the wrapped store's events; the cache goes on
// working as over a store that is no Watcher. It does not close the
// wrapped store. Call it when the service shuts down.
func (c *Store) Close() error {
	c.stopWatching()
	return nil
}

// hash returns digest's hash, which picks its shard (top bits) and its
// bucket in the shard's index (bottom bits).
func (c *Store) hash(digest []byte) uint64 {
	return maphash.Bytes(c.seed, digest)
}

// shard returns the shard that holds the digest whose hash is h.
func (c *Store) shard(h uint64) *shard {
	return &c.shards[h>>c.shardShift]
}

// answer counts a hit on e and returns its answer.
func (c *Store) answer(e *entry) (*tokenauth.Token, error) {
	if e.tok == nil {
		c.hits.add(negativeHit)
		return nil, tokenauth.ErrNotFound
	}
	c.hits.add(hit)
	return e.tok, nil
}

// Find returns the cached answer for digest when it is fresh, and asks the
// wrapped store otherwise, once for all concurrent lookups of the digest.
func (c *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.watch.bypassing() {
		c.bypassed.Add(1)
		return c.inner.Find(ctx, digest)
	}
	h := c.hash(digest)
	sh := c.shard(h)
	now := c.now()
	// A hit takes no lock; the lock is for misses and for the rare lookup
	// that runs while the index grows.
	if e := sh.load(h, digest, now); e != nil {
		return c.answer(e)
	}
	sh.mu.Lock()
	if e := sh.lookup(h, digest, now); e != nil {
		sh.mu.Unlock()
		return c.answer(e)
	}
	sh.misses++
	for {
		f := sh.flights[string(digest)]
		if f == nil {
			key := string(digest)
			f = &flight{done: make(chan struct{})}
			sh.flights[key] = f
			sh.mu.Unlock()
			c.load(ctx, sh, h, key, digest, f, now)
			return f.tok, f.err
		}
		sh.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !f.retry {
			return f.tok, f.err
		}
		now = c.now()
		sh.mu.Lock()
		if e := sh.lookup(h, digest, now); e != nil {
			sh.mu.Unlock()
			return c.answer(e)
		}
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
	h := c.hash(digest)
	sh := c.shard(h)
	sh.mu.Lock()
	sh.forgetDigest(h, digest)
	sh.mu.Unlock()
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
func (c *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := c.inner.DeleteUser(ctx, userID)
	c.forgetUser(userID)
	return n, err
}

// List passes through to the wrapped store.
func (c *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	return c.inner.List(ctx, userID)
}

// Touch records the use in the wrapped store and drops the token's entry,
// so the next lookup reads the new LastUsedAt and ExpiresAt.
func (c *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	err := c.inner.Touch(ctx, id, lastUsed, expiresAt)
	c.forgetID(id)
	return err
}

// DeleteExpired passes through to the wrapped store when it implements
// tokenauth.ExpiredDeleter, and drops the entries of the tokens it purged.
// Otherwise it returns an error wrapping errors.ErrUnsupported: stores with
// native expiry, such as Redis, need no purge.
func (c *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	d, ok := c.inner.(tokenauth.ExpiredDeleter)
	if !ok {
		return 0, fmt.Errorf("cachestore: the wrapped %T does not implement tokenauth.ExpiredDeleter: %w", c.inner, errors.ErrUnsupported)
	}
	n, err := d.DeleteExpired(ctx, before)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.forgetExpired(before)
		sh.mu.Unlock()
	}
	return n, err
}

// Expire passes through to the wrapped store when it implements
// tokenauth.Expirer, and drops the token's entry. Otherwise it returns an
// error wrapping errors.ErrUnsupported, on which the Authenticator's
// Rotate falls back to replacing the record.
func (c *Store) Expire(ctx context.Context, id string, at time.Time) error {
	e, ok := c.inner.(tokenauth.Expirer)
	if !ok {
		return fmt.Errorf("cachestore: the wrapped %T does not implement tokenauth.Expirer: %w", c.inner, errors.ErrUnsupported)
	}
	err := e.Expire(ctx, id, at)
	c.forgetID(id)
	return err
}

// TouchBatch records the uses in the wrapped store, in one call when it
// implements tokenauth.BatchToucher and one Touch per use otherwise, and
// drops the tokens' entries.
func (c *Store) TouchBatch(ctx context.Context, uses []tokenauth.TokenUse) error {
	var err error
	if b, ok := c.inner.(tokenauth.BatchToucher); ok {
		err = b.TouchBatch(ctx, uses)
	} else {
		var errs []error
		for _, u := range uses {
			if err := c.inner.Touch(ctx, u.ID, u.LastUsed, u.ExpiresAt); err != nil && !errors.Is(err, tokenauth.ErrNotFound) {
				errs = append(errs, err)
			}
		}
		err = errors.Join(errs...)
	}
	ids := make([]string, len(uses))
	for i, u := range uses {
		ids[i] = u.ID
	}
	c.forgetID(ids...)
	return err
}

// forgetID drops the entries of the tokens with the given IDs, and keeps
// lookups in progress from caching them.
func (c *Store) forgetID(ids ...string) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for _, id := range ids {
			if e := sh.byID[id]; e != nil {
				sh.remove(e)
			}
		}
		sh.detachFlights()
		sh.mu.Unlock()
	}
}

// forgetAll drops every entry, and keeps lookups in progress from caching
// what they find.
func (c *Store) forgetAll() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.clear()
		sh.mu.Unlock()
	}
}

// forgetUser drops the entries of the user's tokens, and keeps lookups in
// progress from caching them.
func (c *Store) forgetUser(userID string) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for e := sh.byUser[userID]; e != nil; e = sh.byUser[userID] {
			sh.remove(e)
		}
		sh.detachFlights()
		sh.mu.Unlock()
	}
}

// Stats returns the Store's counters.
func (c *Store) Stats() Stats {
	s := Stats{Hits: c.hits.sum(hit), NegativeHits: c.hits.sum(negativeHit), Misses: c.bypassed.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		s.Misses += sh.misses
		s.Evictions += sh.evictions
		s.Len += sh.entries.n
		sh.mu.Unlock()
	}
	return s
}
