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

// account returns the account entry for key.
func (l *MemoryLimiter) account(key uint64, now time.Time) *entry {
	e := l.accounts.get(key)
	if e == nil {
		return l.accounts.add(key, now)
	}
	if e.pending > 0 && !now.Before(e.at.Add(l.window)) {
		e.pending = 0 // as in counter
	}
	return e
}

// debt is how many failures of e's account are not yet refilled.
func (l *MemoryLimiter) debt(e *entry, now time.Time) int {
	d := e.full.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + l.refill - 1) / l.refill)
}

func (l *MemoryLimiter) isFamiliar(pk uint64, now time.Time) bool {
	f := l.familiar.get(pk)
	return f != nil && now.Before(f.at.Add(familiarFor))
}

// expire forgets entries that count nothing any more.
func (l *MemoryLimiter) expire(now time.Time) {
	windowEnded := func(e *entry) bool { return !now.Before(e.at.Add(l.window)) }
	l.pairs.expire(windowEnded)
	l.addrs.expire(windowEnded)
	l.accounts.expire(func(e *entry) bool { return !e.full.After(now) && (e.pending == 0 || windowEnded(e)) })
	l.familiar.expire(func(e *entry) bool { return !now.Before(e.at.Add(familiarFor)) })
}

// dropIdle forgets those of pair, addr and acct that count nothing.
func (l *MemoryLimiter) dropIdle(pair, addr, acct *entry, now time.Time) {
	for _, c := range [...]struct {
		t *table
		e *entry
	}{{l.pairs, pair}, {l.addrs, addr}} {
		if c.e != nil && c.e.failures == 0 && c.e.pending == 0 {
			c.t.remove(c.e)
		}
	}
	if acct != nil && acct.pending == 0 && !acct.full.After(now) {
		l.accounts.remove(acct)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
