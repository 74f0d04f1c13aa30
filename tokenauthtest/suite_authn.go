package tokenauthtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// The race section runs processes of a service over the store under
// test, some with an Authenticator straight on it and some behind their
// own cachestore, as replicas are. All share a clock that moves one
// millisecond at every reading, so that uses are recorded (touched) often
// and each at a distinct instant.
const (
	raceTouchInterval = 20 * time.Millisecond
	raceIdleTimeout   = time.Hour
	raceCacheTTL      = time.Minute
	raceClockStep     = time.Millisecond
)

// raceClock is a clock that moves forward by raceClockStep at every reading,
// and by any duration on demand.
type raceClock struct {
	base  time.Time
	ticks atomic.Int64 // nanoseconds since base
}

func (c *raceClock) now() time.Time {
	return c.base.Add(time.Duration(c.ticks.Add(int64(raceClockStep))))
}

func (c *raceClock) advance(d time.Duration) { c.ticks.Add(int64(d)) }

// touchLog is the store under test, recording the latest use and expiry
// that each token was successfully touched with.
type touchLog struct {
	tokenauth.Store
	mu       sync.Mutex
	latest   map[string]touched
	inFlight atomic.Int64 // touches begun and not yet recorded
}

type touched struct {
	lastUsed, expires time.Time
	n                 int
	// A Touch that failed (a timeout on a loaded machine) is counted, so
	// that the race does not wait for a use that will not be written
	// until the token's next request; it may still have been applied,
	// so its times are the latest the store may hold instead.
	failed                      int
	failedLastUsed, failedUntil time.Time
	err                         error
}

// Touch waits up to 200µs, as a network would, so that concurrent touches
// reach the store in any order, then records what the store accepted.
func (l *touchLog) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	time.Sleep(rand.N(200 * time.Microsecond))
	err := l.Store.Touch(ctx, uses)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range uses {
		w := l.latest[u.ID]
		if err != nil {
			w.failed++
			w.err = err
			w.failedLastUsed = later(w.failedLastUsed, u.LastUsed)
			w.failedUntil = later(w.failedUntil, u.ExpiresAt)
		} else {
			w.n++
			w.lastUsed = later(w.lastUsed, u.LastUsed)
			w.expires = later(w.expires, u.ExpiresAt)
		}
		l.latest[u.ID] = w
	}
	return err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// holds reports whether got, a time the store holds, is the latest that
// a successful Touch wrote, or a later one that a failed Touch may have
// written all the same.
func holds(got, written, failed time.Time) bool {
	return sameTime(got, written) || failed.After(written) && sameTime(got, failed)
}

func (l *touchLog) get(id string) touched {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest[id]
}

// race is the state of one run of the section.
type race struct {
	ctx    context.Context
	plain  *tokenauth.Authenticator // no cache: reads the store on every request
	cached *tokenauth.Authenticator // behind its own cachestore: a replica
	procs  []*tokenauth.Authenticator

	mu       sync.Mutex
	failures []string
	revoked  []string // keys revoked during the run
}

func (r *race) fail(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *race) name(p *tokenauth.Authenticator) string {
	if p == r.plain {
		return "the process without a cache"
	}
	return "the process with a cache"
}

// testAuthenticatorRace issues, authenticates, touches, revokes and revokes
// all from many goroutines at once, through two processes sharing s, and
// checks what a service relies on:
//
//   - a Verify that starts after Revoke or RevokeAll has returned never
//     accepts the token in the process that revoked it, nor in any
//     process without a cache;
//   - a Verify that ends before the revocation starts always accepts it;
//   - the process with a cache refuses every revoked token once its cache
//     TTL has passed: replicas agree within the TTL;
//   - concurrent touches lose no update: the token ends with the latest
//     LastUsedAt and ExpiresAt that any successful Touch wrote.
func testAuthenticatorRace(t *testing.T, s tokenauth.Store) {
	clock := &raceClock{base: time.Now().UTC()}
	log := &touchLog{Store: s, latest: map[string]touched{}}
	// process returns an Authenticator over log, behind a cache if cached.
	process := func(touchInterval time.Duration, cached bool) *tokenauth.Authenticator {
		t.Helper()
		var store tokenauth.Store = log
		if cached {
			// The log hides the store's events, if any: replicas agree
			// within the TTL here, and at once through a Watcher (see
			// RunWatcherTests and cachestore's own tests).
			c, err := cachestore.New(log, cachestore.Options{TTL: raceCacheTTL, Now: clock.now, AllowStaleRevocations: true})
			if err != nil {
				t.Fatalf("cachestore.New: %v", err)
			}
			store = c
		}
		a, err := tokenauth.New(store, tokenauth.Options{
			TouchInterval: touchInterval,
			IdleTimeout:   raceIdleTimeout,
			Now:           clock.now,
			Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("tokenauth.New: %v", err)
		}
		return a
	}
	plain, cached := process(raceTouchInterval, false), process(raceTouchInterval, true)
	r := &race{ctx: context.Background(), plain: plain, cached: cached, procs: []*tokenauth.Authenticator{plain, cached}}
	// The hot token is used through two more processes that record every
	// use, so that their touches race each other.
	hotProcs := []*tokenauth.Authenticator{process(raceClockStep, false), process(raceClockStep, true)}

	hotKey, hot, err := plain.Issue(r.ctx, "hot", tokenauth.IssueOptions{Name: "hot"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	const revokers, tokensEach = 3, 4
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.useConcurrently(hotProcs, hotKey, hot, log)
	}()
	for w := 0; w < revokers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("revoke-%d", w)
			for i := 0; i < tokensEach; i++ {
				if keys, toks := r.issue(user, i, 1); len(keys) == 1 {
					p := r.procs[(w+i)%2]
					r.revokeUnderLoad(p, keys, func() error { return p.Revoke(r.ctx, toks[0].ID) })
				}
			}
		}()
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("revoke-all-%d", w)
			p := r.procs[w%2]
			if keys, _ := r.issue(user, w, 3); len(keys) == 3 {
				r.revokeUnderLoad(p, keys, func() error {
					n, err := p.RevokeAll(r.ctx, user)
					if err == nil && n != len(keys) {
						r.fail("RevokeAll through %s = %d, want %d", r.name(p), n, len(keys))
					}
					return err
				})
			}
		}()
	}
	wg.Wait()

	// Replicas agree within the cache TTL.
	clock.advance(raceCacheTTL)
	for _, key := range r.revoked {
		for _, p := range r.procs {
			if _, err := p.Verify(r.ctx, key); !errors.Is(err, tokenauth.ErrInvalidToken) {
				r.fail("a cache TTL after its revocation, %s: Verify = %v, want ErrInvalidToken", r.name(p), err)
			}
		}
	}
	for _, p := range append(r.procs, hotProcs...) {
		if _, err := p.Verify(r.ctx, hotKey); err != nil {
			r.fail("a process refused the valid hot token at the end: %v", err)
		}
	}

	if n := len(r.failures); n > 0 {
		if n > 10 {
			r.failures = append(r.failures[:10], fmt.Sprintf("… and %d more", n-10))
		}
		t.Errorf("%d failures:\n%s", n, strings.Join(r.failures, "\n"))
	}
}

// useConcurrently uses the token key (whose record is tok) in rounds,
// from several goroutines at once through procs, each use recorded; after
// each round, the store must hold the latest LastUsedAt and ExpiresAt
// written, whatever order the touches landed in.
func (r *race) useConcurrently(procs []*tokenauth.Authenticator, key string, tok *tokenauth.Token, log *touchLog) {
	const rounds, workers = 15, 6
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := procs[w%len(procs)].Verify(r.ctx, key); err != nil {
					r.fail("a process refused a valid token: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		// Each round writes at least one use: the clock moves on with
		// every reading, so the first process to read it after the last
		// round's touches has a later use to record. Not always one per
		// process: one that read the clock before another's touch landed
		// finds a later use stored than its own, and rightly records none
		// (seen on a loaded PostgreSQL). Uses are written in the
		// background, within a second, but a loaded machine under -race
		// has been seen to take over 3 s: allow 15, which costs a passing
		// run nothing. The store is read while no touch is under way, so
		// that the log and the store agree on what was written.
		var want touched
		var got *tokenauth.Token
		var err error
		settled := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if want = log.get(tok.ID); want.n+want.failed < round+1 || log.inFlight.Load() > 0 {
				continue
			}
			got, err = log.Store.Find(r.ctx, tok.Digest)
			now := log.get(tok.ID)
			if settled = now.n == want.n && now.failed == want.failed && log.inFlight.Load() == 0; settled {
				break
			}
		}
		switch {
		case err != nil:
			r.fail("Find: %v", err)
			return
		case want.n+want.failed < round+1:
			r.fail("after %d rounds of concurrent uses the token was touched only %d times (%d failed: %v)", round+1, want.n+want.failed, want.failed, want.err)
			return
		case !settled:
			r.fail("after %d rounds of concurrent uses, touches went on for 15 s", round+1)
			return
		case want.n == 0:
			r.fail("after %d rounds of concurrent uses, every touch failed: %v", round+1, want.err)
			return
		case !holds(got.LastUsedAt, want.lastUsed, want.failedLastUsed) || !holds(got.ExpiresAt, want.expires, want.failedUntil):
			r.fail("after %d concurrent touches: LastUsedAt %v, ExpiresAt %v; want the latest written, %v and %v",
				want.n, got.LastUsedAt, got.ExpiresAt, want.lastUsed, want.expires)
			return
		}
	}
}

// issue issues n tokens to user, alternating between the processes.
func (r *race) issue(user string, first, n int) ([]string, []*tokenauth.Token) {
	var keys []string
	var toks []*tokenauth.Token
	for i := 0; i < n; i++ {
		p := r.procs[(first+i)%2]
		key, tok, err := p.Issue(r.ctx, user, tokenauth.IssueOptions{Name: "race"})
		if err != nil {
			r.fail("Issue through %s: %v", r.name(p), err)
			return nil, nil
		}
		keys = append(keys, key)
		toks = append(toks, tok)
	}
	return keys, toks
}

// revokeUnderLoad runs revoke through p while two goroutines verify keys
// through both processes, and checks each Verify against the moment the
// revocation started and the moment it returned.
func (r *race) revokeUnderLoad(p *tokenauth.Authenticator, keys []string, revoke func() error) {
	const verifiers, uses = 2, 6
	// mustRefuse are the processes that see a revocation through p at once.
	mustRefuse := func(q *tokenauth.Authenticator) bool { return q == p || q == r.plain }
	var revoking, revoked atomic.Bool
	var wg sync.WaitGroup
	var once sync.Once
	started := make(chan struct{})
	for v := 0; v < verifiers; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < uses; i++ {
				q, key := r.procs[(v+i)%2], keys[(v+i)%len(keys)]
				after := revoked.Load()
				_, err := q.Verify(r.ctx, key)
				before := !revoking.Load()
				once.Do(func() { close(started) })
				switch {
				case err == nil && after && mustRefuse(q):
					r.fail("%s accepted a token after its revocation through %s returned", r.name(q), r.name(p))
				case err != nil && !errors.Is(err, tokenauth.ErrInvalidToken):
					r.fail("Verify through %s: %v", r.name(q), err)
				case err != nil && before:
					r.fail("%s refused a token before its revocation started: %v", r.name(q), err)
				}
			}
		}()
	}
	<-started
	revoking.Store(true)
	err := revoke()
	revoked.Store(true)
	if err != nil {
		r.fail("revocation through %s: %v", r.name(p), err)
	}
	for _, q := range r.procs {
		if !mustRefuse(q) {
			continue
		}
		for _, key := range keys {
			if _, err := q.Verify(r.ctx, key); !errors.Is(err, tokenauth.ErrInvalidToken) {
				r.fail("after a revocation through %s, %s: Verify = %v, want ErrInvalidToken", r.name(p), r.name(q), err)
			}
		}
	}
	wg.Wait()
	r.mu.Lock()
	r.revoked = append(r.revoked, keys...)
	r.mu.Unlock()
}
