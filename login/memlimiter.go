package login

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math"
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
	// for one username in a Window. It is also the credit of failures of
	// one device (LimitKey.Device) at its account, which refills as the
	// account's does. Default 5.
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
	// in a burst from untrusted clients (addresses it has not logged in
	// from, without a device of its), all of them together. Addresses in
	// good standing may take 2 more. Default 10.
	MaxAccountFailures int

	// AccountRefill is how often an account, and a device, regains one
	// attempt of its credit. Default one minute.
	AccountRefill time.Duration

	// MaxWait bounds how long an attempt waits for attempts in flight
	// when they fill a budget, rather than being refused at once.
	// Default 3 seconds; negative: never wait.
	MaxWait time.Duration

	// MaxKeys bounds each of the limiter's five tables (address and
	// username, address, account, device, account's familiar addresses);
	// an entry takes about 190 bytes. Three sketches of 64 bytes per
	// MaxKeys (rounded up to a power of two; 4 MiB each by default)
	// remember what evicted accounts and devices still owe, and which
	// addresses failed in the last day. Default 50,000: about 60 MB with
	// every table full.
	MaxKeys int

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

const (
	// familiarFor is how long an address stays familiar to an account
	// after a successful login from it.
	familiarFor = 30 * 24 * time.Hour
	// familiarPlaces is how many familiar addresses an account keeps,
	// the most recently used.
	familiarPlaces = 4
	// standingFor is how long a failed login takes an address out of
	// good standing.
	standingFor = 24 * time.Hour
	// reserve is how many failures beyond MaxAccountFailures an account
	// takes from addresses in good standing.
	reserve = 2
)

// MemoryLimiter is the default Limiter: brute-force protection that counts
// failed logins in memory. It is safe for concurrent use.
//
// Per client address and username (5 failures a minute) and per address
// (50 a minute), a client over the budget gets 429 until the window that
// counted the failures ends. Per account (the username, from every address
// together), failures from untrusted clients draw on a credit of 10 that
// refills by one a minute, plus 2 for addresses in good standing (no
// failed login from them, for any account, in 24 hours): an attacker who
// spreads guesses over any number of addresses gets at most 72 guesses at
// an account in the first hour and 60 an hour after that.
//
// No flood of other usernames refills an account's credit: when the
// account table is full, an evicted entry leaves what it still owes in a
// fixed-size sketch, which can only remember it as owing more, never less.
// Collisions there cost accounts that take no part some of their credit,
// and only from untrusted clients: measured, junk usernames that fail once
// each cost an innocent account about 1 of its 10 attempts at 500,000 a
// minute (10 times MaxKeys), about 5 at a million; past 1.5 million a
// minute, untrusted logins are refused for nearly every account while the
// flood lasts and for at most 24 minutes after.
//
// Trusted clients do not draw on the account credit, so an attack on an
// account does not lock its owner out of it:
//
//   - A familiar address (IPv4, or IPv6 /64) where the account logged in
//     during the last 30 days. An account keeps its 4 most recent; an
//     attacker's floods cannot push them out short of successful logins
//     to MaxKeys (50,000) other accounts.
//   - A device (LimitKey.Device, from a signed device cookie; see
//     Options.DeviceKey) that logged in to the account before, from any
//     address, after restarts and on every replica. Each device has a
//     credit of its own (5, then one a minute): a stolen device cookie
//     gives at most 65 guesses in the first hour and 60 an hour after.
//
// From a new address on a new device, during an attack, the owner gets in
// through the 2 attempts kept for addresses in good standing, unless the
// attacker spends an address that never failed on every guess, one each
// minute the credit regains.
//
// Successful logins are never counted; they clear the failures of their
// address and username, and of their device. Attempts still being checked
// count against every budget until they end; an attempt that finds a
// budget full of attempts in flight waits for one to end (at most MaxWait)
// instead of being refused. So parallel guesses cannot overrun a budget,
// while parallel correct logins of one user from one address (a NAT, a
// test suite) all succeed.
//
// Keys are kept as 64-bit hashes, so memory per key is fixed whatever the
// client sends. Counts live in one process: behind several replicas
// without sticky routing a client gets the budgets on each, and familiar
// addresses are forgotten at a restart (device cookies are not). Implement
// Limiter over a shared store where that matters.
type MemoryLimiter struct {
	maxFailures, maxAddrFailures, maxAccount int
	window, refill, maxWait                  time.Duration
	now                                      func() time.Time
	seed                                     maphash.Seed
	epoch                                    time.Time

	mu                     sync.Mutex
	pairs, addrs, familiar *table
	accounts, devices      credits
	// standing holds, by address (IPv4, or IPv6 /48), when its last
	// failure stops counting against it.
	standing *sketch
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
	if l.now == nil {
		l.now = time.Now
	}
	l.epoch = l.now()
	n := cmp.Or(opts.MaxKeys, 50_000)
	l.pairs, l.addrs, l.familiar = newTable(n), newTable(n), newTable(n)
	l.accounts, l.devices = l.newCredits(n, l.maxAccount+reserve), l.newCredits(n, l.maxFailures)
	l.standing = newSketch(sketchWidth * n)
	return l, nil
}

// busyRetry is the Retry-After of an attempt that waited in vain for
// attempts in flight.
const busyRetry = time.Second

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(ctx context.Context, lk LimitKey) (time.Duration, bool) {
	k := l.hash(lk)
	var timeout <-chan time.Time
	for {
		wait, busy := l.try(k)
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
func (l *MemoryLimiter) try(k keys) (time.Duration, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	pair, addr := l.counter(l.pairs, k.pair, now), l.counter(l.addrs, k.addr, now)
	var acct, dev *entry
	if k.hasUser {
		acct = l.credit(l.accounts, k.user, now)
	}
	if k.hasDevice {
		dev = l.credit(l.devices, k.device, now)
	}

	var wait time.Duration
	var busy *entry
	// check applies one budget: used of limit are spent until ends.
	check := func(e *entry, used, limit int, ends time.Time) {
		switch {
		case used >= limit:
			wait = max(wait, ends.Sub(now))
		case used+e.pending >= limit && busy == nil:
			busy = e
		}
	}
	check(pair, pair.failures, l.maxFailures, pair.at.Add(l.window))
	check(addr, addr.failures, l.maxAddrFailures, addr.at.Add(l.window))
	if limit := l.accountLimit(k, now); limit > 0 {
		check(acct, l.debt(acct, now), limit, l.refilled(acct, limit))
	}
	if dev != nil {
		check(dev, l.debt(dev, now), l.maxFailures, l.refilled(dev, l.maxFailures))
	}
	if wait > 0 || busy != nil {
		l.dropIdle(now, pair, addr, acct, dev)
		if wait > 0 {
			return wait, nil
		}
		return 0, busy.waitCh()
	}
	pair.pending++
	addr.pending++
	// The account counts attempts in flight whether or not its credit
	// applies, so that Done can always undo them.
	if acct != nil {
		acct.pending++
		l.accounts.t.touch(acct, now)
	}
	if dev != nil {
		dev.pending++
		l.devices.t.touch(dev, now)
	}
	return 0, nil
}

// Done implements Limiter.
func (l *MemoryLimiter) Done(_ context.Context, lk LimitKey, outcome Outcome) {
	k := l.hash(lk)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	pair, addr := l.pairs.get(k.pair), l.addrs.get(k.addr)
	var acct, dev *entry
	if k.hasUser {
		acct = l.accounts.t.get(k.user)
	}
	if k.hasDevice {
		dev = l.devices.t.get(k.device)
	}
	switch outcome {
	case Failed:
		// Counted even if the entries were evicted meanwhile.
		pair, addr = l.counter(l.pairs, k.pair, now), l.counter(l.addrs, k.addr, now)
		pair.failures++
		addr.failures++
		l.standing.raise(k.standing, l.stamp(now.Add(standingFor)))
		if k.hasDevice {
			dev = l.credit(l.devices, k.device, now)
			dev.full = later(dev.full, now).Add(l.refill)
		} else if k.hasUser && !l.isFamiliar(k, now) {
			acct = l.credit(l.accounts, k.user, now)
			acct.full = later(acct.full, now).Add(l.refill)
		}
	case Succeeded:
		if pair != nil {
			pair.failures = 0
		}
		if dev != nil {
			dev.full = time.Time{}
		}
		if k.hasUser {
			l.remember(k, now)
		}
	}
	for _, e := range [...]*entry{pair, addr, acct, dev} {
		if e != nil {
			e.pending = max(0, e.pending-1)
			e.changed()
		}
	}
	if acct != nil {
		l.accounts.t.touch(acct, now)
	}
	if dev != nil {
		l.devices.t.touch(dev, now)
	}
	l.dropIdle(now, pair, addr, acct, dev)
}

// keys are the hashes a LimitKey is counted under.
type keys struct {
	pair, addr, user, device uint64
	// standing is the address's key in the standing sketch: IPv6 by /48,
	// so that one customer's block of /64s counts as one address there.
	standing           uint64
	hasUser, hasDevice bool
}

func (l *MemoryLimiter) hash(lk LimitKey) (k keys) {
	var h maphash.Hash
	h.SetSeed(l.seed)
	ip, err := netip.ParseAddr(lk.Addr)
	switch ip = ip.Unmap(); {
	case err != nil:
		// Length first, so that no address and username can collide with
		// another pair by moving bytes across the boundary.
		writeField(&h, 's', lk.Addr)
		k.standing = h.Sum64()
	case ip.Is4():
		b := ip.As4()
		h.WriteByte(4)
		h.Write(b[:])
		k.standing = h.Sum64()
	default:
		b := ip.As16()
		h.WriteByte(6)
		h.Write(b[:6])
		k.standing = h.Sum64()
		h.Write(b[6:8]) // the /64
	}
	k.addr = h.Sum64()
	h.WriteString(lk.Username)
	k.pair = h.Sum64()
	if lk.Username == "" {
		return k
	}
	k.hasUser = true
	k.user = maphash.String(l.seed, lk.Username)
	if lk.Device != "" {
		h.Reset()
		writeField(&h, 'd', lk.Username)
		h.WriteString(lk.Device)
		k.device, k.hasDevice = h.Sum64(), true
	}
	return k
}

// writeField writes a tag, then s preceded by its length.
func writeField(h *maphash.Hash, tag byte, s string) {
	h.WriteByte(tag)
	h.WriteString(strconv.Itoa(len(s)))
	h.WriteByte(':')
	h.WriteString(s)
}

// stamp is t as the limiter's sketches keep it: seconds since the epoch,
// rounded up, so that a sketch errs on the late side.
func (l *MemoryLimiter) stamp(t time.Time) int32 {
	d := t.Sub(l.epoch)
	return int32(min(math.MaxInt32, max(math.MinInt32, (d+time.Second-1)/time.Second)))
}

// unstamp is the time a sketch holds as v.
func (l *MemoryLimiter) unstamp(v int32) time.Time {
	return l.epoch.Add(time.Duration(v) * time.Second)
}
