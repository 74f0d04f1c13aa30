package cachestore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// entry is a cached answer for one digest: a token, or "not found" when
// tok is nil. Lookups read it without a lock: the fields up to next are
// set before it is published and never change; ref and next are atomic;
// the rest belongs to the holder of the shard's lock.
type entry struct {
	hash    uint64 // of the digest, with the Store's seed
	key     string // string(digest)
	tok     *tokenauth.Token
	loaded  time.Time // when the wrapped store was asked
	expires time.Time // loaded plus the TTL that applies

	next atomic.Pointer[entry] // in its index bucket
	ref  atomic.Bool           // CLOCK's reference bit: used since the hand passed
	slot int                   // index in its clock

	// Found entries of the same user form a list, for DeleteUser.
	prevOfUser, nextOfUser *entry
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

// use marks e used for CLOCK. The bit is written only when the hand has
// cleared it, so that a hot entry's cache line is not written at every hit.
func (e *entry) use() {
	if !e.ref.Load() {
		e.ref.Store(true)
	}
}

// shard is one lock's worth of the cache. Found tokens and unknown digests
// live in separate clocks, so that unknown ones never evict found ones.
// Hits read entries through index without the lock; everything else takes
// it.
type shard struct {
	entries index
	// Keeps the lock off the line that hits read.
	_ [64]byte

	mu       sync.Mutex
	byID     map[string]*entry  // found entries by token ID
	byUser   map[string]*entry  // head of each user's list
	flights  map[string]*flight // lookups in progress, by string(digest)
	found    clock
	notFound clock

	misses, evictions uint64

	_ [64]byte // keeps each shard off its neighbour's cache lines
}

// init readies sh to hold up to size found tokens and a quarter as many
// unknown digests.
func (sh *shard) init(size int) {
	sh.entries.reset()
	sh.byID = make(map[string]*entry)
	sh.byUser = make(map[string]*entry)
	sh.flights = make(map[string]*flight)
	sh.found = clock{size: size}
	sh.notFound = clock{size: max(1, size/4)}
}

// load returns the entry that may answer for digest, whose hash is h, at
// now, without the lock. It may miss one that lookup would return.
func (sh *shard) load(h uint64, digest []byte, now time.Time) *entry {
	e := sh.entries.load(h, digest)
	if e == nil || !e.fresh(now) {
		return nil
	}
	e.use()
	return e
}

// lookup returns the entry that may answer for digest, whose hash is h, at
// now, dropping a stale one. sh.mu must be held.
func (sh *shard) lookup(h uint64, digest []byte, now time.Time) *entry {
	e := sh.entries.find(h, digest)
	if e == nil {
		return nil
	}
	if !e.fresh(now) {
		sh.remove(e)
		return nil
	}
	e.use()
	return e
}

// insert caches e for digest, evicting another entry if its clock is
// full. sh.mu must be held.
func (sh *shard) insert(e *entry, digest []byte, now time.Time) {
	if old := sh.entries.find(e.hash, digest); old != nil {
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
	sh.entries.add(e)
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
func (sh *shard) remove(e *entry) {
	if e.tok == nil {
		sh.notFound.remove(e)
	} else {
		sh.found.remove(e)
	}
	sh.unindex(e)
}

// unindex drops e from the maps and its user's list. sh.mu must be held.
func (sh *shard) unindex(e *entry) {
	sh.entries.remove(e)
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

// forgetDigest drops the answer for digest, whose hash is h, cached or
// being looked up. sh.mu must be held.
func (sh *shard) forgetDigest(h uint64, digest []byte) {
	if e := sh.entries.find(h, digest); e != nil {
		sh.remove(e)
	}
	if f := sh.flights[string(digest)]; f != nil {
		f.stale = true
		delete(sh.flights, string(digest))
	}
}

// forgetExpired drops the found tokens that expired at or before before.
// sh.mu must be held.
func (sh *shard) forgetExpired(before time.Time) {
	// Backwards, as remove moves the last entry into the freed slot.
	for i := len(sh.found.slots) - 1; i >= 0; i-- {
		if e := sh.found.slots[i]; !e.tok.ExpiresAt.IsZero() && !e.tok.ExpiresAt.After(before) {
			sh.remove(e)
		}
	}
}

// clear drops every entry and detaches every lookup in progress. sh.mu
// must be held.
func (sh *shard) clear() {
	sh.entries.reset()
	clear(sh.byID)
	clear(sh.byUser)
	sh.found.reset()
	sh.notFound.reset()
	sh.detachFlights()
}
