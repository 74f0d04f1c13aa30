package login

import (
	"slices"
	"time"
)

// place is an address an account logged in from, and when it last did.
type place struct {
	addr uint64
	at   time.Time
}

// isFamiliar reports whether k's account logged in from k's address in
// the last 30 days.
func (l *MemoryLimiter) isFamiliar(k keys, now time.Time) bool {
	e := l.familiar.get(k.user)
	if e == nil {
		return false
	}
	i := slices.IndexFunc(e.places, func(p place) bool { return p.addr == k.addr })
	return i >= 0 && now.Before(e.places[i].at.Add(familiarFor))
}

// remember makes k's address familiar to its account, which keeps its
// most recent familiarPlaces. The familiar table holds one entry per
// account, so that forgetting one account's addresses takes successful
// logins to MaxKeys other accounts, not merely many addresses.
func (l *MemoryLimiter) remember(k keys, now time.Time) {
	e := l.familiar.get(k.user)
	if e == nil {
		e = l.familiar.add(k.user, now)
	} else {
		l.familiar.touch(e, now)
	}
	i := slices.IndexFunc(e.places, func(p place) bool { return p.addr == k.addr })
	if i < 0 {
		if len(e.places) < familiarPlaces {
			e.places = append(e.places, place{})
		}
		i = len(e.places) - 1
	}
	copy(e.places[1:i+1], e.places[:i])
	e.places[0] = place{k.addr, now}
}
