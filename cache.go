package tokenauth

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// CacheOptions configures a Cache. The zero value gives the defaults.
type CacheOptions struct {
	// Size is how many found tokens the cache holds; past it, entries not
	// used lately are evicted (CLOCK, an approximation of LRU). Digests the
	// store did not know are held apart, in up to a quarter as many more
	// entries, so that a flood of unknown tokens cannot evict valid ones.
	// Default 10000.
	Size int

	// TTL is how long a found token is answered from the cache before the
	// store is asked again. It bounds how long a revocation made by another
	// process (another replica, an admin tool) goes unnoticed here.
	// Default 30 seconds.
	TTL time.Duration

	// NegativeTTL is how long a digest the store did not know is answered
	// "not found" from the cache, so that repeated bad tokens do not reach
	// the store. Default 5 seconds; a negative value turns negative caching
	// off.
	NegativeTTL time.Duration

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// CacheStats are a Cache's counters since it was created, for metrics.
type CacheStats struct {
	// Hits counts lookups answered with a cached token.
	Hits uint64
	// NegativeHits counts lookups answered "not found" from the cache.
	NegativeHits uint64
	// Misses counts lookups that waited for the store, including those
	// that shared a concurrent lookup's store call.
	Misses uint64
	// Evictions counts entries dropped before their TTL to make room for
	// others; a steady rate means Size is too small.
	Evictions uint64
	// Len is the number of entries held now, found and not found.
	Len int
}

// Cache is a Store that keeps recently found tokens in memory in front of
// another Store, so that the hot path of a service running on many
// replicas rarely reaches the shared database. Use it in place of the
// store it wraps:
//
//	cache, err := tokenauth.NewCache(store, tokenauth.CacheOptions{})
//	auth, err := tokenauth.New(cache, opts)
//
// What it guarantees:
//
//   - A revocation, rotation or touch made through this Cache (and so
//     through an Authenticator built on it) drops the token's entry at
//     once: this process never serves it stale afterwards.
//   - A revocation made by another process (another replica, an admin
//     tool writing to the store directly) is seen here within
//     CacheOptions.TTL, 30 seconds by default. Until then this process
//     keeps accepting the revoked token. Choose the TTL as the longest
//     acceptable delay, or skip the Cache where revocation must be
//     instant everywhere.
//   - Digests the store did not know are remembered for
//     CacheOptions.NegativeTTL (5 seconds by default). A token created by
//     another process is therefore refused here for up to NegativeTTL if
//     this process looked its digest up just before it was created. Tokens
//     are random, so in practice only a key presented before it was stored
//     can meet this (a legacy key tried during its import, say); a token
//     created through this Cache is never affected.
//   - Expiry is not cached: the Authenticator checks ExpiresAt on every
//     request against the cached record, and a record that expires while
//     cached is read again once, so that a sliding expiry extended by
//     another replica is honoured.
//   - Concurrent misses for the same digest make one store call, whose
//     answer they share. Store errors are never cached.
//
// A hit takes one short lock on one of up to 16 shards and does not
// allocate; it returns the store's record itself, which is read-only by
// the Store contract. List passes straight through.
//
// DeleteExpired is passed to the wrapped store when it implements
// ExpiredDeleter, and returns an error wrapping errors.ErrUnsupported
// otherwise (stores with native expiry, such as Redis, need no purge).
type Cache struct {
	store       Store
	ttl         time.Duration
	negativeTTL time.Duration
	now         func() time.Time
	seed        maphash.Seed
	shards      []cacheShard
}

var (
	_ Store          = (*Cache)(nil)
	_ ExpiredDeleter = (*Cache)(nil)
)

const (
	defaultCacheSize        = 10000
	defaultCacheTTL         = 30 * time.Second
	defaultCacheNegativeTTL = 5 * time.Second
	// maxCacheShards bounds lock striping; minShardSize keeps small caches
	// in few shards, so that CLOCK sees enough entries to choose well.
	maxCacheShards = 16
	minShardSize   = 256
)

// errStorePanicked is what lookups sharing a store call get when that
// call panicked; the panic itself goes on in the goroutine that made it.
var errStorePanicked = errors.New("tokenauth: cache: store panicked in Find")

// NewCache returns a Cache in front of s. It returns an error wrapping
// ErrInvalidOptions when s is nil or Size or TTL is negative.
func NewCache(s Store, opts CacheOptions) (*Cache, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: cache store is nil", ErrInvalidOptions)
	}
	if opts.Size < 0 || opts.TTL < 0 {
		return nil, fmt.Errorf("%w: cache Size and TTL must not be negative", ErrInvalidOptions)
	}
	size, ttl, negativeTTL := opts.Size, opts.TTL, opts.NegativeTTL
	if size == 0 {
		size = defaultCacheSize
	}
	if ttl == 0 {
		ttl = defaultCacheTTL
	}
	if negativeTTL == 0 {
		negativeTTL = defaultCacheNegativeTTL
	}
	c := &Cache{store: s, ttl: ttl, negativeTTL: negativeTTL, now: opts.Now, seed: maphash.MakeSeed()}
	if c.now == nil {
		c.now = time.Now
	}
	n := 1
	for n < maxCacheShards && size/(2*n) >= minShardSize {
		n *= 2
	}
	c.shards = make([]cacheShard, n)
	for i := range c.shards {
		found := size / n
		if i < size%n {
			found++
		}
		c.shards[i] = cacheShard{
			entries:  make(map[string]*cacheEntry),
			byID:     make(map[string]*cacheEntry),
			byUser:   make(map[string]*cacheEntry),
			flights:  make(map[string]*flight),
			found:    clock{size: found},
			notFound: clock{size: max(1, found/4)},
		}
	}
	return c, nil
}

// cacheEntry is a cached answer for one digest: a token, or "not found"
// when tok is nil.
type cacheEntry struct {
	key     string // string(digest)
	tok     *Token
	loaded  time.Time // when the store was asked
	expires time.Time // loaded plus the TTL that applies
	ref     bool      // CLOCK's reference bit: used since the hand passed
	slot    int       // index in its clock

	// Found entries of the same user form a list, for DeleteUser.
	prevOfUser, nextOfUser *cacheEntry
}

// fresh reports whether e may answer a lookup at now.
func (e *cacheEntry) fresh(now time.Time) bool {
	if !now.Before(e.expires) {
		return false
	}
	// A record that expired while cached is read once more: another
	// replica may have moved a sliding expiry forward.
	return e.tok == nil || !e.tok.Expired(now) || !e.tok.ExpiresAt.After(e.loaded)
}

// flight is one store lookup shared by every concurrent miss of a digest.
type flight struct {
	done chan struct{} // closed when tok and err are set
	tok  *Token
	err  error
	// retry: the lookup failed because its caller's context ended, which
	// says nothing to the others sharing it; they try again.
	retry bool
	// stale: something was invalidated while the lookup ran. Its answer
	// goes to the callers that joined before the invalidation and is not
	// cached; the flight is detached, so later callers start a new one.
	stale bool
}

// cacheShard is one lock's worth of the cache.
type cacheShard struct {
	mu       sync.Mutex
	entries  map[string]*cacheEntry // by string(digest)
	byID     map[string]*cacheEntry // found entries by token ID
	byUser   map[string]*cacheEntry // head of each user's list
	flights  map[string]*flight     // lookups in progress, by string(digest)
	found    clock
	notFound clock

	hits, negativeHits, misses, evictions uint64

	_ [64]byte // keeps each shard's lock and counters off its neighbour's cache line
}

// clock is the CLOCK replacement policy over a fixed number of slots.
type clock struct {
	slots []*cacheEntry
	hand  int
	size  int
}

// add puts e in a free slot, or in place of the first entry the hand
// finds unused since its last pass (or past its TTL), which it returns.
func (k *clock) add(e *cacheEntry, now time.Time) (victim *cacheEntry) {
	if len(k.slots) < k.size {
		e.slot = len(k.slots)
		k.slots = append(k.slots, e)
		return nil
	}
	for {
		if k.hand >= len(k.slots) {
			k.hand = 0
		}
		v := k.slots[k.hand]
		if v.ref && now.Before(v.expires) {
			v.ref = false
			k.hand++
			continue
		}
		e.slot = k.hand
		k.slots[k.hand] = e
		k.hand++
		return v
	}
}

// remove frees e's slot, moving the last entry into it.
func (k *clock) remove(e *cacheEntry) {
	last := len(k.slots) - 1
	moved := k.slots[last]
	k.slots[e.slot] = moved
	moved.slot = e.slot
	k.slots[last] = nil
	k.slots = k.slots[:last]
}

// lookup returns the entry that may answer for digest at now, dropping a
// stale one. sh.mu must be held.
func (sh *cacheShard) lookup(digest []byte, now time.Time) *cacheEntry {
	e := sh.entries[string(digest)]
	if e == nil {
		return nil
	}
	if !e.fresh(now) {
		sh.remove(e)
		return nil
	}
	e.ref = true
	return e
}

// insert caches e, evicting another entry if its clock is full. sh.mu
// must be held.
func (sh *cacheShard) insert(e *cacheEntry, now time.Time) {
	if old := sh.entries[e.key]; old != nil {
		sh.remove(old)
	}
	k := &sh.notFound
	if e.tok != nil {
		k = &sh.found
		if old := sh.byID[e.tok.ID]; old != nil {
			sh.remove(old)
		}
	}
	if victim := k.add(e, now); victim != nil {
		sh.unindex(victim)
		if now.Before(victim.expires) {
			sh.evictions++
		}
	}
	sh.entries[e.key] = e
	if e.tok == nil {
		return
	}
	sh.byID[e.tok.ID] = e
	if head := sh.byUser[e.tok.UserID]; head != nil {
		head.prevOfUser = e
		e.nextOfUser = head
	}
	sh.byUser[e.tok.UserID] = e
}

// remove drops e from the shard. sh.mu must be held.
func (sh *cacheShard) remove(e *cacheEntry) {
	if e.tok == nil {
		sh.notFound.remove(e)
	} else {
		sh.found.remove(e)
	}
	sh.unindex(e)
}

// unindex drops e from the maps and its user's list. sh.mu must be held.
func (sh *cacheShard) unindex(e *cacheEntry) {
	delete(sh.entries, e.key)
	if e.tok == nil {
		return
	}
	delete(sh.byID, e.tok.ID)
	switch {
	case e.prevOfUser != nil:
		e.prevOfUser.nextOfUser = e.nextOfUser
	case e.nextOfUser != nil:
		sh.byUser[e.tok.UserID] = e.nextOfUser
	default:
		delete(sh.byUser, e.tok.UserID)
	}
	if e.nextOfUser != nil {
		e.nextOfUser.prevOfUser = e.prevOfUser
	}
	e.prevOfUser, e.nextOfUser = nil, nil
}

func (c *Cache) shard(digest []byte) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.Bytes(c.seed, digest)&uint64(len(c.shards)-1)]
}

// Find returns the cached answer for digest when it is fresh, and asks the
// wrapped store otherwise, once for all concurrent lookups of the digest.
func (c *Cache) Find(ctx context.Context, digest []byte) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := c.shard(digest)
	now := c.now()
	sh.mu.Lock()
	if e := sh.lookup(digest, now); e != nil {
		return sh.answer(e)
	}
	sh.misses++
	for {
		f := sh.flights[string(digest)]
		if f == nil {
			key := string(digest)
			f = &flight{done: make(chan struct{})}
			sh.flights[key] = f
			sh.mu.Unlock()
			c.load(ctx, sh, key, digest, f, now)
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
		if e := sh.lookup(digest, now); e != nil {
			return sh.answer(e)
		}
	}
}

// answer counts a hit on e and returns its answer, unlocking sh.mu.
func (sh *cacheShard) answer(e *cacheEntry) (*Token, error) {
	if e.tok == nil {
		sh.negativeHits++
		sh.mu.Unlock()
		return nil, ErrNotFound
	}
	sh.hits++
	sh.mu.Unlock()
	return e.tok, nil
}

// load asks the store for digest on behalf of f's sharers, then caches
// the answer unless it may have been made stale meanwhile.
func (c *Cache) load(ctx context.Context, sh *cacheShard, key string, digest []byte, f *flight, started time.Time) {
	returned := false
	defer func() {
		if !returned {
			f.err = errStorePanicked
		}
		sh.mu.Lock()
		if sh.flights[key] == f {
			delete(sh.flights, key)
		}
		if returned {
			c.keep(sh, key, f, started)
		}
		sh.mu.Unlock()
		close(f.done)
	}()
	f.tok, f.err = c.store.Find(ctx, digest)
	f.retry = f.err != nil && ctx.Err() != nil
	returned = true
}

// keep caches f's answer. sh.mu must be held.
func (c *Cache) keep(sh *cacheShard, key string, f *flight, started time.Time) {
	if f.stale {
		return
	}
	e := &cacheEntry{key: key, loaded: started}
	switch {
	case f.err == nil && f.tok != nil:
		e.tok, e.expires = f.tok, started.Add(c.ttl)
	case errors.Is(f.err, ErrNotFound) && c.negativeTTL > 0:
		e.expires = started.Add(c.negativeTTL)
	default:
		return
	}
	sh.insert(e, c.now())
}

// Create passes t to the wrapped store, then forgets that its digest was
// not found, so the new token works here at once.
func (c *Cache) Create(ctx context.Context, t *Token) error {
	if t == nil {
		return errors.New("tokenauth: cache: Create of a nil token")
	}
	// t belongs to the store once passed: take what is needed first.
	digest := slices.Clone(t.Digest)
	err := c.store.Create(ctx, t)
	sh := c.shard(digest)
	sh.mu.Lock()
	if e := sh.entries[string(digest)]; e != nil {
		sh.remove(e)
	}
	if f := sh.flights[string(digest)]; f != nil {
		f.stale = true
		delete(sh.flights, string(digest))
	}
	sh.mu.Unlock()
	return err
}

// Delete deletes the token from the wrapped store and drops its entry.
func (c *Cache) Delete(ctx context.Context, id string) error {
	err := c.store.Delete(ctx, id)
	c.forgetID(id)
	return err
}

// DeleteUser deletes the user's tokens from the wrapped store and drops
// their entries.
func (c *Cache) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := c.store.DeleteUser(ctx, userID)
	c.forgetUser(userID)
	return n, err
}

// List passes through to the wrapped store.
func (c *Cache) List(ctx context.Context, userID string) ([]*Token, error) {
	return c.store.List(ctx, userID)
}

// Touch records the use in the wrapped store and drops the token's entry,
// so the next lookup reads the new LastUsedAt and ExpiresAt.
func (c *Cache) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	err := c.store.Touch(ctx, id, lastUsed, expiresAt)
	c.forgetID(id)
	return err
}

// DeleteExpired passes through to the wrapped store when it implements
// ExpiredDeleter and drops the entries of the tokens it purged. Otherwise
// it returns an error wrapping errors.ErrUnsupported.
func (c *Cache) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	d, ok := c.store.(ExpiredDeleter)
	if !ok {
		return 0, fmt.Errorf("tokenauth: cache: the wrapped %T does not implement ExpiredDeleter: %w", c.store, errors.ErrUnsupported)
	}
	n, err := d.DeleteExpired(ctx, before)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		// Backwards, as remove moves the last entry into the freed slot.
		for j := len(sh.found.slots) - 1; j >= 0; j-- {
			if e := sh.found.slots[j]; !e.tok.ExpiresAt.IsZero() && !e.tok.ExpiresAt.After(before) {
				sh.remove(e)
			}
		}
		sh.mu.Unlock()
	}
	return n, err
}

// detachFlights marks every lookup in progress stale and removes it from
// the flight table, so that a Find begun after an invalidation never joins
// a lookup that may have read the record before it. Flights do not know
// which token they will find, so all of them go: invalidations are rare.
// sh.mu must be held.
func (sh *cacheShard) detachFlights() {
	for k, f := range sh.flights {
		f.stale = true
		delete(sh.flights, k)
	}
}

// forgetID drops the entry of the token with the given ID, and keeps
// lookups in progress from caching it.
func (c *Cache) forgetID(id string) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if e := sh.byID[id]; e != nil {
			sh.remove(e)
		}
		sh.detachFlights()
		sh.mu.Unlock()
	}
}

// forgetUser drops the entries of the user's tokens, and keeps lookups in
// progress from caching them.
func (c *Cache) forgetUser(userID string) {
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

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	var s CacheStats
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		s.Hits += sh.hits
		s.NegativeHits += sh.negativeHits
		s.Misses += sh.misses
		s.Evictions += sh.evictions
		s.Len += len(sh.entries)
		sh.mu.Unlock()
	}
	return s
}
