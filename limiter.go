package tokenauth

import (
	"context"
	"fmt"
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// LimitKey identifies who makes a login attempt.
type LimitKey struct {
	// Addr is the client address, as LoginOptions.ClientIP found it.
	Addr string
	// Username is the username as the CredentialChecker receives it.
	Username string
}

// LoginOutcome is how a login attempt that a Limiter let through ended.
type LoginOutcome int

const (
	// LoginSucceeded: the CredentialChecker accepted the credentials.
	LoginSucceeded LoginOutcome = iota + 1
	// LoginFailed: the CredentialChecker refused the credentials.
	LoginFailed
	// LoginErrored: the CredentialChecker failed (an outage), so the
	// attempt says nothing about the client.
	LoginErrored
)

// Limiter throttles login attempts. The login handler calls Allow once a
// request's body is valid, before it checks the credentials, and, when
// Allow lets the attempt through, Done exactly once with the outcome.
// Implementations must be safe for concurrent use; one shared by several
// replicas (over Redis, say) implements the same two methods.
type Limiter interface {
	// Allow reports whether the attempt may go ahead. When it may not,
	// retryAfter tells the client how long to wait.
	Allow(ctx context.Context, key LimitKey) (retryAfter time.Duration, ok bool)
	// Done reports the outcome of an attempt that Allow let through.
	Done(ctx context.Context, key LimitKey, outcome LoginOutcome)
}

// NoLimit is a Limiter that allows every attempt: set it as
// LoginOptions.Limiter to turn throttling off (in tests, or when a proxy
// in front already throttles logins).
var NoLimit Limiter = noLimit{}

type noLimit struct{}

func (noLimit) Allow(context.Context, LimitKey) (time.Duration, bool) { return 0, true }
func (noLimit) Done(context.Context, LimitKey, LoginOutcome)          {}

// LimiterOptions configures a MemoryLimiter. The zero value gives the
// defaults: 5 failures per address and username and 50 per address, each
// per minute, for at most 100,000 keys.
type LimiterOptions struct {
	// MaxFailures is how many failed attempts one client address may make
	// for one username in a Window. Default 5.
	MaxFailures int

	// MaxAddrFailures is how many failed attempts one client address may
	// make in a Window, all usernames together: it stops one address from
	// trying a common password against many users. Default 50.
	MaxAddrFailures int

	// Window is the period failures are counted over. It starts at a key's
	// first attempt; when it ends, the key's count starts again from zero.
	// Default one minute.
	Window time.Duration

	// MaxKeys bounds the keys tracked; each client address and each
	// address with a username is one key, about 100 bytes. When full, the
	// key whose window ends soonest is forgotten. At least 2. Default
	// 100,000 (about 10 MB).
	MaxKeys int

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// MemoryLimiter is the default Limiter: brute-force protection that counts
// failed logins, in memory. It is safe for concurrent use.
//
// It counts failures per client address and username and, more loosely,
// per client address. A client over either limit gets 429 until the
// window that counted the failures ends. Successful logins are never
// counted, and clear the failures of their address and username: a user
// who types the right password is throttled only after failing too often
// from the same address, and since counts are per address, an attacker
// elsewhere cannot lock the user out. Attempts still being checked count
// as failures until they end, so a burst of parallel guesses cannot
// overrun the limit (nor can more than MaxFailures simultaneous logins of
// one username from one address).
//
// Usernames are compared case-insensitively, so that changing case buys no
// extra attempts. IPv6 addresses are grouped by /64, the block one
// customer usually holds. Keys are kept as 64-bit hashes, so memory per
// key is fixed whatever the client sends.
//
// Counts live in one process: behind several replicas without sticky
// routing a client gets up to the limit on each. Implement Limiter over a
// shared store where that matters.
type MemoryLimiter struct {
	maxFailures     int
	maxAddrFailures int
	window          time.Duration
	maxKeys         int
	now             func() time.Time
	seed            maphash.Seed

	mu      sync.Mutex
	entries map[uint64]*limitEntry
	// A list ordered by window start, newest first: the oldest entry's
	// window ends first, so expiry and eviction take from the tail.
	head, tail *limitEntry
}

type limitEntry struct {
	key          uint64
	start        time.Time
	failures     int
	pending      int // attempts let through and not yet Done
	newer, older *limitEntry
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewLimiter returns a MemoryLimiter. It returns an error wrapping
// ErrInvalidOptions when opts are invalid.
func NewLimiter(opts LimiterOptions) (*MemoryLimiter, error) {
	if opts.MaxFailures < 0 || opts.MaxAddrFailures < 0 || opts.Window < 0 || opts.MaxKeys < 0 {
		return nil, fmt.Errorf("%w: LimiterOptions: limits, Window and MaxKeys must not be negative", ErrInvalidOptions)
	}
	if opts.MaxKeys == 1 {
		return nil, fmt.Errorf("%w: LimiterOptions: MaxKeys must be at least 2", ErrInvalidOptions)
	}
	l := &MemoryLimiter{
		maxFailures:     opts.MaxFailures,
		maxAddrFailures: opts.MaxAddrFailures,
		window:          opts.Window,
		maxKeys:         opts.MaxKeys,
		now:             opts.Now,
		seed:            maphash.MakeSeed(),
		entries:         make(map[uint64]*limitEntry),
	}
	if l.maxFailures == 0 {
		l.maxFailures = 5
	}
	if l.maxAddrFailures == 0 {
		l.maxAddrFailures = 50
	}
	if l.window == 0 {
		l.window = time.Minute
	}
	if l.maxKeys == 0 {
		l.maxKeys = 100_000
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(_ context.Context, k LimitKey) (time.Duration, bool) {
	userKey, addrKey := l.hash(k)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(now)
	a := l.get(addrKey, now, nil)
	u := l.get(userKey, now, a)
	var wait time.Duration
	if u.failures+u.pending >= l.maxFailures {
		wait = u.start.Add(l.window).Sub(now)
	}
	if a.failures+a.pending >= l.maxAddrFailures {
		wait = max(wait, a.start.Add(l.window).Sub(now))
	}
	if wait > 0 {
		l.dropIdle(u)
		l.dropIdle(a)
		return wait, false
	}
	u.pending++
	a.pending++
	return 0, true
}

// Done implements Limiter.
func (l *MemoryLimiter) Done(_ context.Context, k LimitKey, outcome LoginOutcome) {
	userKey, addrKey := l.hash(k)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range [2]uint64{userKey, addrKey} {
		e := l.entries[key]
		if outcome == LoginFailed {
			e = l.get(key, now, nil) // count it even if evicted meanwhile
			e.failures++
		}
		if e == nil {
			continue
		}
		if e.pending > 0 {
			e.pending--
		}
		if outcome == LoginSucceeded && key == userKey {
			e.failures = 0
		}
		l.dropIdle(e)
	}
}

// Len returns how many keys the limiter tracks, at most
// LimiterOptions.MaxKeys.
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// hash returns the keys of k's address-and-username and address counters.
func (l *MemoryLimiter) hash(k LimitKey) (user, addr uint64) {
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
		// Length first, so that no address and username pair can
		// collide with another by moving bytes across the boundary.
		var n [20]byte
		h.WriteByte('s')
		h.Write(strconv.AppendInt(n[:0], int64(len(k.Addr)), 10))
		h.WriteByte(':')
		h.WriteString(k.Addr)
	}
	addr = h.Sum64()
	h.WriteByte('u')
	writeLower(&h, k.Username)
	return h.Sum64(), addr
}

// writeLower writes s to h in lower case, without allocating.
func writeLower(h *maphash.Hash, s string) {
	lower := true
	for i := 0; i < len(s) && lower; i++ {
		lower = s[i] < utf8.RuneSelf && !('A' <= s[i] && s[i] <= 'Z')
	}
	if lower {
		h.WriteString(s)
		return
	}
	var buf [128]byte
	n := 0
	for _, r := range s {
		if n > len(buf)-utf8.UTFMax {
			h.Write(buf[:n])
			n = 0
		}
		n += utf8.EncodeRune(buf[n:], unicode.ToLower(r))
	}
	h.Write(buf[:n])
}

// get returns the entry for key, created or restarted as needed. To make
// room it evicts the oldest entry other than keep.
func (l *MemoryLimiter) get(key uint64, now time.Time, keep *limitEntry) *limitEntry {
	if e := l.entries[key]; e != nil {
		if !now.Before(e.start.Add(l.window)) {
			// A new window. Attempts in flight count for one window at
			// most, so one whose Done never came cannot block for ever.
			e.start, e.failures, e.pending = now, 0, 0
			l.unlink(e)
			l.pushFront(e)
		}
		return e
	}
	for len(l.entries) >= l.maxKeys {
		victim := l.tail
		if victim == keep {
			victim = victim.newer
		}
		l.remove(victim)
	}
	e := &limitEntry{key: key, start: now}
	l.entries[key] = e
	l.pushFront(e)
	return e
}

// expire forgets entries whose window has ended.
func (l *MemoryLimiter) expire(now time.Time) {
	for l.tail != nil && !now.Before(l.tail.start.Add(l.window)) {
		l.remove(l.tail)
	}
}

// dropIdle forgets e if it counts nothing.
func (l *MemoryLimiter) dropIdle(e *limitEntry) {
	if e.failures == 0 && e.pending == 0 {
		l.remove(e)
	}
}

func (l *MemoryLimiter) remove(e *limitEntry) {
	if l.entries[e.key] == e {
		delete(l.entries, e.key)
		l.unlink(e)
	}
}

func (l *MemoryLimiter) pushFront(e *limitEntry) {
	e.newer, e.older = nil, l.head
	if l.head != nil {
		l.head.newer = e
	} else {
		l.tail = e
	}
	l.head = e
}

func (l *MemoryLimiter) unlink(e *limitEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		l.head = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		l.tail = e.newer
	}
	e.newer, e.older = nil, nil
}

// remoteHost is the default LoginOptions.ClientIP: the host part of
// r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ForwardedFor returns a LoginOptions.ClientIP function for a service
// behind reverse proxies: when the request comes from one of
// trustedProxies, the client is the rightmost X-Forwarded-For address that
// is not itself a trusted proxy; otherwise it is the peer's address, as by
// default.
//
// Name only your own proxies. Any client can send an X-Forwarded-For
// header: trusting it from a peer that is not your proxy lets every client
// choose its own address and so escape the per-address limits. Reading the
// rightmost untrusted entry, never the leftmost, is what keeps addresses a
// client wrote itself out of the answer. With no trustedProxies the header
// is never read.
func ForwardedFor(trustedProxies ...netip.Prefix) func(*http.Request) string {
	trusted := make([]netip.Prefix, len(trustedProxies))
	for i, p := range trustedProxies {
		trusted[i] = p.Masked()
	}
	isTrusted := func(ip netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := remoteHost(r)
		client, ok := parseForwardedAddr(peer)
		if !ok || !isTrusted(client) {
			return peer
		}
		values := r.Header.Values("X-Forwarded-For")
		for i := len(values) - 1; i >= 0; i-- {
			list := values[i]
			for list != "" {
				var entry string
				if j := strings.LastIndexByte(list, ','); j >= 0 {
					list, entry = list[:j], list[j+1:]
				} else {
					list, entry = "", list
				}
				entry = strings.TrimSpace(entry)
				if entry == "" {
					continue
				}
				ip, ok := parseForwardedAddr(entry)
				if !ok {
					// Not written by a proxy of ours: trust ends here.
					return client.String()
				}
				client = ip
				if !isTrusted(ip) {
					return ip.String()
				}
			}
		}
		return client.String()
	}
}

// parseForwardedAddr parses an address as proxies write it: bare, with a
// port, or bracketed.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	return ip.Unmap().WithZone(""), true
}
