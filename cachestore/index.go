package cachestore

import "sync/atomic"

// index finds a shard's entries by digest for lookups that take no lock. It
// is a hash table chained through the entries, whose links and bucket heads
// are atomic pointers: only the holder of the shard's lock changes them, and
// readers follow them without one.
//
// A lookup that begins after an entry was unlinked cannot reach it: every
// link to it was replaced before the lock was released, the links of live
// entries only ever point to live entries, and an entry is never linked
// again. A lookup that runs while the table changes may miss an entry it
// should have found (when the table grows, links are rewritten under it),
// and then takes the lock, which finds it.
type index struct {
	table atomic.Pointer[table]
	n     int // entries linked; under the shard's lock
}

// table is one generation of an index's buckets.
type table struct {
	buckets []atomic.Pointer[entry]
	mask    uint64
}

const (
	// minBuckets is a new or cleared index's size; it doubles as entries
	// come, so that memory follows the entries held and not Options.Size.
	minBuckets = 8
	// maxWalk bounds a lock-free lookup's walk down a chain, so that it
	// ends even if the table keeps growing under it; chains are much
	// shorter, as the table grows before it holds more entries than
	// buckets.
	maxWalk = 64
)

func newTable(n int) *table {
	return &table{buckets: make([]atomic.Pointer[entry], n), mask: uint64(n - 1)}
}

// reset empties x. Lookups already walking the old table may still find
// what it held.
func (x *index) reset() {
	x.table.Store(newTable(minBuckets))
	x.n = 0
}

// load returns the entry for digest, whose hash is h, without the lock. It
// may miss one that is there while the table changes.
func (x *index) load(h uint64, digest []byte) *entry {
	t := x.table.Load()
	e := t.buckets[h&t.mask].Load()
	for i := 0; e != nil && i < maxWalk; i++ {
		if e.hash == h && e.key == string(digest) {
			return e
		}
		e = e.next.Load()
	}
	return nil
}

// find returns the entry for digest, whose hash is h. The shard's lock
// must be held.
func (x *index) find(h uint64, digest []byte) *entry {
	t := x.table.Load()
	for e := t.buckets[h&t.mask].Load(); e != nil; e = e.next.Load() {
		if e.hash == h && e.key == string(digest) {
			return e
		}
	}
	return nil
}

// add links e, which holds no digest already linked. The shard's lock
// must be held.
func (x *index) add(e *entry) {
	t := x.table.Load()
	if x.n >= len(t.buckets) {
		t = x.grow(t)
	}
	b := &t.buckets[e.hash&t.mask]
	// e's link is set before e is published by the bucket's head.
	e.next.Store(b.Load())
	b.Store(e)
	x.n++
}

// grow moves every entry into a table twice as large and publishes it.
// The shard's lock must be held.
func (x *index) grow(old *table) *table {
	t := newTable(2 * len(old.buckets))
	for i := range old.buckets {
		for e := old.buckets[i].Load(); e != nil; {
			next := e.next.Load()
			b := &t.buckets[e.hash&t.mask]
			e.next.Store(b.Load())
			b.Store(e)
			e = next
		}
	}
	x.table.Store(t)
	return t
}

// remove unlinks e, which must be linked. e keeps its own link, so that a
// lookup standing on it goes on down the chain. The shard's lock must be
// held.
func (x *index) remove(e *entry) {
	t := x.table.Load()
	p := &t.buckets[e.hash&t.mask]
	for q := p.Load(); q != e; q = q.next.Load() {
		p = &q.next
	}
	p.Store(e.next.Load())
	x.n--
}
