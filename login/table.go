package login

import "time"

// entry is one counter of a MemoryLimiter. Its fields serve the table it
// sits in: failures in the window that began at at (pairs, addresses),
// the time the failure credit is full again (accounts, devices), the
// places an account logged in from (familiar addresses).
type entry struct {
	key      uint64
	at       time.Time
	failures int
	pending  int       // attempts let through and not yet Done
	full     time.Time // credits: when the failure credit is full again
	places   []place   // familiar addresses, newest first
	wake     chan struct{}

	newer, older *entry
}

// waitCh returns a channel closed at e's next change.
func (e *entry) waitCh() <-chan struct{} {
	if e.wake == nil {
		e.wake = make(chan struct{})
	}
	return e.wake
}

// changed wakes the attempts waiting on e.
func (e *entry) changed() {
	if e.wake != nil {
		close(e.wake)
		e.wake = nil
	}
}

// table is a bounded set of entries kept in the order of their at times,
// newest first, so that expiry and eviction take from the tail. Keys are
// 64-bit hashes, so an entry's size does not depend on what clients send.
type table struct {
	max        int
	m          map[uint64]*entry
	head, tail *entry
	// evicted, when set, hears of each entry pushed out by a new one,
	// before it goes: a table whose entries must not be forgotten keeps
	// what they hold elsewhere.
	evicted func(e *entry, now time.Time)
}

func newTable(max int) *table {
	return &table{max: max, m: make(map[uint64]*entry)}
}

func (t *table) get(key uint64) *entry { return t.m[key] }

// add returns a new entry for key, dated at, evicting the oldest entry
// when the table is full.
func (t *table) add(key uint64, at time.Time) *entry {
	for len(t.m) >= t.max {
		if t.evicted != nil {
			t.evicted(t.tail, at)
		}
		t.remove(t.tail)
	}
	e := &entry{key: key, at: at}
	t.m[key] = e
	t.pushFront(e)
	return e
}

// touch dates e at and makes it the newest entry.
func (t *table) touch(e *entry, at time.Time) {
	e.at = at
	t.unlink(e)
	t.pushFront(e)
}

// expire removes the oldest entries for as long as dead says so.
func (t *table) expire(dead func(*entry) bool) {
	for t.tail != nil && dead(t.tail) {
		t.remove(t.tail)
	}
}

func (t *table) remove(e *entry) {
	if t.m[e.key] != e {
		return
	}
	delete(t.m, e.key)
	t.unlink(e)
	e.changed()
}

func (t *table) pushFront(e *entry) {
	e.newer, e.older = nil, t.head
	if t.head != nil {
		t.head.newer = e
	} else {
		t.tail = e
	}
	t.head = e
}

func (t *table) unlink(e *entry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		t.head = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		t.tail = e.newer
	}
	e.newer, e.older = nil, nil
}
