package login

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// MemoryLimiterOptions configures a MemoryLimiter. The zero value gives the
// defaults described there.
type MemoryLimiterOptions struct {
	// MaxFailures is how many failed attempts one client address may make
	// for one username in a Window. Default 5.
	MaxFailures int

	// MaxAddrFailures is how many failed attempts one client address may
	// make in a Window, all usernames together: it stops one address from
	// trying a common password against many users. Default 50.
	MaxAddrFailures int

	// Window is the period the two counts above are kept over. It starts
	// at a key's first attempt; when it ends, the count starts again.
	// Default one minute.
	Window time.Duration

	// MaxAccountFailures is how many failed attempts one username may take
	// in a burst from addresses it has not logged in from, all such
	// addresses together. Default 10.
	MaxAccountFailures int

	// AccountRefill is how often an account regains one attempt of that
	// burst. Default one minute.
	AccountRefill time.Duration

	// MaxWait bounds how long an attempt waits for attempts in flight
	// when they fill a budget, rather than being refused at once.
	// Default 3 seconds; negative: never wait.
	MaxWait time.Duration

	// MaxKeys bounds each of the limiter's four tables (address and
	// username, address, account, familiar address); an entry takes about
	// 120 bytes. When a table is full its oldest entry is forgotten.
	// Default 50,000 (about 25 MB at most).
	MaxKeys int

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// familiarFor is how long an address stays familiar to an account after
// a successful login from it.
const familiarFor = 30 * 24 * time.Hour

// MemoryLimiter is the default Limiter: brute-force protection that counts
// failed logins in memory. It is safe for concurrent use.
//
// It keeps three budgets of failures. Per client address and username (5
// a minute) and per address (50 a minute), a client over the budget gets
// 429 until the window that counted the failures ends. Per account (the
// username, from all addresses together), failures from addresses the
// account has not logged in from draw on a credit of 10 that refills by
// one a minute: an attacker who spreads guesses over any number of
// addresses gets at most 70 guesses at one account in the first hour and
// 60 an hour after that. An address (IPv4, or IPv6 /64) becomes familiar
// to an account when a login from it succeeds, and stays so for 30 days:
// from there the account budget does not apply, so an attack on an
// account never locks its owner out of the places they use.
//
// Successful logins are never counted, and clear the failures of their
// address and username. Attempts still being checked count against every
// budget until they end; an attempt that finds a budget full of attempts
// in flight waits for one to end (at most MaxWait) instead of being
// refused. So parallel guesses cannot overrun a budget, while parallel
// correct logins of one user from one address (a NAT, a test suite) all
// succeed.
//
// IPv6 addresses are grouped by /64, the block one customer usually
// holds. Keys are kept as 64-bit hashes, so memory per key is fixed
// whatever the client sends. Counts live in one process: behind several
// replicas without sticky routing a client gets the budgets on each, and
// familiar addresses are forgotten at a restart. Implement Limiter over a
// shared store where that matters.
type MemoryLimiter struct {
	maxFailures, maxAddrFailures, maxAccount int
	window, refill, maxWait                  time.Duration
	now                                      func() time.Time
	seed                                     maphash.Seed

	mu                               sync.Mutex
	pairs, addrs, accounts, familiar *table
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter returns a MemoryLimiter. It returns an error wrapping
// tokenauth.ErrInvalidOptions when opts are invalid.
func NewMemoryLimiter(opts MemoryLimiterOptions) (*MemoryLimiter, error) {
	if opts.MaxFailures < 0 || opts.MaxAddrFailures < 0 || opts.MaxAccountFailures < 0 ||
		opts.Window < 0 || opts.AccountRefill < 0 || opts.MaxKeys < 0 {
		return nil, fmt.Errorf("%w: login.MemoryLimiterOptions: only MaxWait may be negative", tokenauth.ErrInvalidOptions)
	}
	l := &MemoryLimiter{
		maxFailures:     cmp.Or(opts.MaxFailures, 5),
		maxAddrFailures: cmp.Or(opts.MaxAddrFailures, 50),
		maxAccount:      cmp.Or(opts.MaxAccountFailures, 10),
		window:          cmp.Or(opts.Window, time.Minute),
		refill:          cmp.Or(opts.AccountRefill, time.Minute),
		maxWait:         cmp.Or(opts.MaxWait, 3*time.Second),
		now:             opts.Now,
		seed:            maphash.MakeSeed(),
	}
	n := cmp.Or(opts.MaxKeys, 50_000)
	l.pairs, l.addrs, l.accounts, l.familiar = newTable(n), newTable(n), newTable(n), newTable(n)
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// busyRetry is the Retry-After of an attempt that waited in vain for
// attempts in flight.
const busyRetry = time.Second

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(ctx context.Context, k LimitKey) (time.Duration, bool) {
	pk, ak, uk := l.hash(k)
	var timeout <-chan time.Time
	for {
		wait, busy := l.try(pk, ak, uk, k.Username != "")
		switch {
		case busy == nil:
			return wait, wait == 0
		case l.maxWait < 0:
			return busyRetry, false
		case timeout == nil:
			t := time.NewTimer(l.maxWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-busy:
		case <-timeout:
			return busyRetry, false
		case <-ctx.Done():
			return busyRetry, false
		}
	}
}

// try lets the attempt through (0, nil), refuses it (wait, nil), or
// returns a channel to wait on for attempts in flight to end.
func (l *MemoryLimiter) try(pk, ak, uk uint64, hasUser bool) (time.Duration, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	pair, addr := l.counter(l.pairs, pk, now), l.counter(l.addrs, ak, now)
	var acct *entry
	debt := 0
	// The account budget does not apply from a familiar address, nor to
	// a key without a username.
	limitAccount := hasUser && !l.isFamiliar(pk, now)
	if hasUser {
		acct = l.account(uk, now)
		debt = l.debt(acct, now)
	}

	var wait time.Duration
	if pair.failures >= l.maxFailures {
		wait = pair.at.Add(l.window).Sub(now)
	}
	if addr.failures >= l.maxAddrFailures {
		wait = max(wait, addr.at.Add(l.window).Sub(now))
	}
	if limitAccount && debt >= l.maxAccount {
		wait = max(wait, acct.full.Sub(now)-time.Duration(l.maxAccount-1)*l.refill)
	}
	var busy *entry
	switch {
	case wait > 0:
	case pair.failures+pair.pending >= l.maxFailures:
		busy = pair
	case addr.failures+addr.pending >= l.maxAddrFailures:
		busy = addr
	case limitAccount && debt+acct.pending >= l.maxAccount:
		busy = acct
	default:
		pair.pending++
		addr.pending++
		if acct != nil {
			acct.pending++ // familiar or not, so that Done can always undo it
			l.accounts.touch(acct, now)
		}
		return 0, nil
	}
	l.dropIdle(pair, addr, acct, now)
	if busy == nil {
		return wait, nil
	}
	return 0, busy.waitCh()
}

// Done implements Limiter.
func (l *MemoryLimiter) Done(_ context.Context, k LimitKey, outcome Outcome) {
	pk, ak, uk := l.hash(k)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	pair, addr, acct := l.pairs.get(pk), l.addrs.get(ak), (*entry)(nil)
	if k.Username != "" {
		acct = l.accounts.get(uk)
	}
	switch outcome {
	case Failed:
		// Counted even if the entries were evicted meanwhile.
		pair, addr = l.counter(l.pairs, pk, now), l.counter(l.addrs, ak, now)
		pair.failures++
		addr.failures++
		if k.Username != "" && !l.isFamiliar(pk, now) {
			acct = l.account(uk, now)
			acct.full = later(acct.full, now).Add(l.refill)
		}
	case Succeeded:
		if pair != nil {
			pair.failures = 0
		}
		if f := l.familiar.get(pk); f != nil {
			l.familiar.touch(f, now)
		} else if k.Username != "" {
			l.familiar.add(pk, now)
		}
	}
	for _, e := range [...]*entry{pair, addr, acct} {
		if e != nil {
			e.pending = max(0, e.pending-1)
			e.changed()
		}
	}
	if acct != nil {
		l.accounts.touch(acct, now)
	}
	l.dropIdle(pair, addr, acct, now)
}

// hash returns the keys of k's address and username, address, and
// username.
func (l *MemoryLimiter) hash(k LimitKey) (pair, addr, user uint64) {
	var h maphash.Hash
	h.SetSeed(l.seed)
	if ip, err := netip.ParseAddr(k.Addr); err == nil {
		ip = ip.Unmap()
		if ip.Is4() {
			b := ip.As4()
			h.WriteByte(4)
			h.Write(b[:])
		} else {
			b := ip.As16()
			h.WriteByte(6)
			h.Write(b[:8]) // the /64
		}
	} else {
		// Length first, so that no address and username can collide with
		// another pair by moving bytes across the boundary.
		h.WriteByte('s')
		h.WriteString(strconv.Itoa(len(k.Addr)))
		h.WriteByte(':')
		h.WriteString(k.Addr)
	}
	addr = h.Sum64()
	h.WriteString(k.Username)
	return h.Sum64(), addr, maphash.String(l.seed, k.Username)
}
