package login

import "time"

// counter returns the window counter for key in t, created or restarted
// as needed.
func (l *MemoryLimiter) counter(t *table, key uint64, now time.Time) *entry {
	e := t.get(key)
	switch {
	case e == nil:
		return t.add(key, now)
	case !now.Before(e.at.Add(l.window)):
		// A new window. Attempts in flight count for one window at most,
		// so one whose Done never came cannot block for ever.
		e.failures, e.pending = 0, 0
		e.changed()
		t.touch(e, now)
	}
	return e
}

// credits are budgets of failures that refill with time, one per key (an
// account, a device): each entry holds when its credit is full again. The
// table keeps exact entries while they fit; one evicted while it still
// owes leaves that in the sketch, which new entries start from. So a flood
// of other keys can only make a credit smaller, never refill it.
type credits struct {
	t *table
	s *sketch
}

// newCredits returns credits of n exact entries, whose limit is at most
// limit failures. What a key owes cannot pass twice its limit (attempts
// are refused beyond it, and those in flight at an eviction count twice at
// most), so the sketch remembers no more: collisions can hold a key back
// for that long, and no longer, after a flood ends.
func (l *MemoryLimiter) newCredits(n, limit int) credits {
	c := credits{t: newTable(n), s: newSketch(sketchWidth * n)}
	most := time.Duration(2*limit) * l.refill
	c.t.evicted = func(e *entry, now time.Time) {
		owed := e.full
		if e.pending > 0 {
			// Attempts in flight may yet fail: count them as failures.
			owed = later(owed, now).Add(time.Duration(e.pending) * l.refill)
		}
		if owed.After(now) {
			c.s.raise(e.key, l.stamp(earlier(owed, now.Add(most))))
		}
	}
	return c
}

// credit returns the entry for key in c, created as c's sketch remembers
// it.
func (l *MemoryLimiter) credit(c credits, key uint64, now time.Time) *entry {
	e := c.t.get(key)
	if e == nil {
		e = c.t.add(key, now)
		e.full = l.unstamp(c.s.get(key))
		return e
	}
	if e.pending > 0 && !now.Before(e.at.Add(l.window)) {
		e.pending = 0 // as in counter
	}
	return e
}

// debt is how many failures of e's credit are not yet refilled.
func (l *MemoryLimiter) debt(e *entry, now time.Time) int {
	d := e.full.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + l.refill - 1) / l.refill)
}

// refilled is when e's debt falls below limit.
func (l *MemoryLimiter) refilled(e *entry, limit int) time.Time {
	return e.full.Add(-time.Duration(limit-1) * l.refill)
}

// accountLimit is the account credit k may use, or 0 when the account
// credit does not apply: to a key without a username, and to trusted
// clients, a device or a familiar address. Untrusted addresses in good
// standing, which no failure came from in 24 hours, may use the reserve:
// the owner on a new address finds it free unless the attacker spends a
// fresh address on each guess.
func (l *MemoryLimiter) accountLimit(k keys, now time.Time) int {
	switch {
	case !k.hasUser || k.hasDevice || l.isFamiliar(k, now):
		return 0
	case l.standing.get(k.standing) <= l.stamp(now):
		return l.maxAccount + reserve
	default:
		return l.maxAccount
	}
}

// expire forgets entries that count nothing any more.
func (l *MemoryLimiter) expire(now time.Time) {
	windowEnded := func(e *entry) bool { return !now.Before(e.at.Add(l.window)) }
	owesNothing := func(e *entry) bool { return !e.full.After(now) && (e.pending == 0 || windowEnded(e)) }
	l.pairs.expire(windowEnded)
	l.addrs.expire(windowEnded)
	l.accounts.t.expire(owesNothing)
	l.devices.t.expire(owesNothing)
	l.familiar.expire(func(e *entry) bool { return !now.Before(e.at.Add(familiarFor)) })
}

// dropIdle forgets those of pair, addr, acct and dev that count nothing.
func (l *MemoryLimiter) dropIdle(now time.Time, pair, addr, acct, dev *entry) {
	for _, c := range [...]struct {
		t      *table
		e      *entry
		credit bool
	}{{l.pairs, pair, false}, {l.addrs, addr, false}, {l.accounts.t, acct, true}, {l.devices.t, dev, true}} {
		if c.e != nil && c.e.pending == 0 && (c.credit && !c.e.full.After(now) || !c.credit && c.e.failures == 0) {
			c.t.remove(c.e)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
