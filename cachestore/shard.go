package cachestore

import (
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// entry is a cached answer for one digest: a token, or "not found" when
// tok is nil.
type entry struct {
	key     string // string(digest)
	tok     *tokenauth.Token
	loaded  time.Time // when the wrapped store was asked
	expires time.Time // loaded plus the TTL that applies
	ref     bool      // CLOCK's reference bit: used since the hand passed
	slot    int       // index in its clock

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

// shard is one lock's worth of the cache. Found tokens and unknown digests
// live in separate clocks, so that unknown ones never evict found ones.
type shard struct {
	mu       sync.Mutex
	entries  map[string]*entry  // by string(digest)
	byID     map[string]*entry  // found entries by token ID
	byUser   map[string]*entry  // head of each user's list
	flights  map[string]*flight // lookups in progress, by string(digest)
	found    clock
	notFound clock

	hits, negativeHits, misses, evictions uint64

	_ [64]byte // keeps each shard's lock and counters off its neighbour's cache line
}

// newShard returns a shard holding up to size found tokens and a quarter
// as many unknown digests.
func newShard(size int) shard {
	return shard{
		entries:  make(map[string]*entry),
		byID:     make(map[string]*entry),
		byUser:   make(map[string]*entry),
		flights:  make(map[string]*flight),
		found:    clock{size: size},
		notFound: clock{size: max(1, size/4)},
	}
}

// lookup returns the entry that may answer for digest at now, dropping a
// stale one. sh.mu must be held.
func (sh *shard) lookup(digest []byte, now time.Time) *entry {
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

// answer counts a hit on e and returns its answer, unlocking sh.mu.
func (sh *shard) answer(e *entry) (*tokenauth.Token, error) {
	if e.tok == nil {
		sh.negativeHits++
		sh.mu.Unlock()
		return nil, tokenauth.ErrNotFound
	}
	sh.hits++
	sh.mu.Unlock()
	return e.tok, nil
}

// insert caches e, evicting another entry if its clock is full. sh.mu
// must be held.
func (sh *shard) insert(e *entry, now time.Time) {
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

// forgetDigest drops the answer for digest, cached or being looked up.
// sh.mu must be held.
func (sh *shard) forgetDigest(digest []byte) {
	if e := sh.entries[string(digest)]; e != nil {
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
	clear(sh.entries)
	clear(sh.byID)
	clear(sh.byUser)
	sh.found.reset()
	sh.notFound.reset()
	sh.detachFlights()
}
