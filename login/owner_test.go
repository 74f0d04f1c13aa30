package login_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// siege is an attack on one account through the handler: every second,
// a guess from the next of the attacker's addresses, so that each attempt
// the account's credit regains is taken at once. Before it starts, its
// addresses have flooded junk usernames, as in the reported attack.
type siege struct {
	h       http.Handler
	clock   *tokenauthtest.Clock
	addrs   int
	next    int
	checked int // guesses that reached the checker
}

func (s *siege) addr(i int) string { return fmt.Sprintf("10.%d.%d.1:1", i/250, i%250) }

func (s *siege) flood(t testing.TB) {
	for i := range s.addrs {
		loginAs(t, s.h, s.addr(i), fmt.Sprint("junk", i), "guess")
	}
}

// run attacks username for d, calling between (if not nil) every second.
func (s *siege) run(t testing.TB, username string, d time.Duration, between func()) {
	for range int(d / time.Second) {
		if w := loginAs(t, s.h, s.addr(s.next%s.addrs), username, "guess"); w.Code == http.StatusBadRequest {
			s.checked++
		}
		s.next++
		if between != nil {
			between()
		}
		s.clock.Advance(time.Second)
	}
}

// Finding 5: while 1,002 addresses take every attempt an account regains
// for 150 seconds, its owner logs in from a new address with the right
// password. Before, every try was refused as long as the attack lasted;
// now an address that never failed takes one of the 2 attempts kept for
// addresses in good standing, and gets in at once.
func TestOwnerFromNewAddressDuringAttack(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{}, login.Options{Now: clock.Now})
	s := &siege{h: fx.h, clock: clock, addrs: 1002}
	s.flood(t)
	s.run(t, "john", 30*time.Second, nil) // the account's credit is spent

	const owner = "198.51.100.77:443"
	var tries []int
	in := false
	wait := time.Duration(0)
	s.run(t, "john", 150*time.Second, func() {
		if in || wait > 0 {
			wait -= time.Second
			return
		}
		w := loginAs(t, fx.h, owner, "john", password)
		tries = append(tries, w.Code)
		if w.Code == http.StatusOK {
			in = true
			return
		}
		require.Equal(t, http.StatusTooManyRequests, w.Code)
		secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
		require.NoError(t, err)
		wait = time.Duration(secs) * time.Second
	})
	assert.Equal(t, []int{http.StatusOK}, tries, "the owner gets in at the first try")
	assert.LessOrEqual(t, s.checked, 12+3, "the attacker: 12, then one a minute")
}

// The reserve holds only while the attacker cannot spend addresses that
// never failed: one that does takes each attempt the account regains, and
// is out of good standing after it. Here the attacker has 20 fresh
// addresses and polls every second; the owner, on a new address, tries
// as Retry-After says and gets in soon after they are spent.
func TestReserveCostsAFreshAddressAGuess(t *testing.T) {
	clock := tokenauthtest.NewClock()
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now, MaxWait: -1})
	try := func(addr, outcome string) (time.Duration, bool) {
		key := login.LimitKey{Addr: addr, Username: "john"}
		wait, ok := l.Allow(ctx, key)
		if ok {
			o := login.Failed
			if outcome == "ok" {
				o = login.Succeeded
			}
			l.Done(ctx, key, o)
		}
		return wait, ok
	}
	const fresh = 20
	spent, start := 0, clock.Now()
	var ownerIn time.Duration
	ownerNext := 5 * time.Minute // the owner arrives after the burst
	for ownerIn == 0 && clock.Now().Sub(start) < 2*time.Hour {
		if spent < fresh {
			if _, ok := try(fmt.Sprintf("10.0.0.%d", spent), "fail"); ok {
				spent++
			}
		}
		if now := clock.Now().Sub(start); now >= ownerNext {
			wait, ok := try("198.51.100.77", "ok")
			if ok {
				ownerIn = now
			}
			ownerNext = now + max(wait, time.Second)
		}
		clock.Advance(time.Second)
	}
	t.Logf("the attacker's %d fresh addresses held the owner out for %s", fresh, ownerIn)
	require.NotZero(t, ownerIn, "the owner gets in")
	// 12 fresh addresses go in the first burst; the 8 others take one
	// regained attempt a minute, then the owner's next try gets in.
	assert.Less(t, ownerIn, time.Duration(fresh-12+3)*time.Minute)
}

// A familiar address survives any flood of successful logins by others'
// accounts below MaxKeys of them: an attacker's own account, logging in
// from 5,000 addresses, does not push the owner's home out, so the owner
// still gets in there while the account is under attack.
func TestFamiliarAddressSurvivesFlood(t *testing.T) {
	const maxKeys = 1000
	clock := tokenauthtest.NewClock()
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{MaxKeys: maxKeys, MaxWait: -1, Now: clock.Now})
	attempt := func(addr, user string, o login.Outcome) bool {
		key := login.LimitKey{Addr: addr, Username: user}
		_, ok := l.Allow(ctx, key)
		if ok {
			l.Done(ctx, key, o)
		}
		return ok
	}
	require.True(t, attempt("192.0.2.10", "john", login.Succeeded))
	for i := range 5 * maxKeys {
		require.True(t, attempt(fmt.Sprintf("10.%d.%d.1", i/250, i%250), "mallory", login.Succeeded))
	}
	for i := range 100 {
		attempt(fmt.Sprintf("10.%d.%d.2", i/250, i%250), "john", login.Failed)
	}
	assert.False(t, attempt("198.51.100.1", "john", login.Failed), "the account's credit is spent")
	assert.True(t, attempt("192.0.2.10", "john", login.Succeeded), "the owner at home")
}

// A stolen device cookie gives no more than the device's own credit: 5,
// then one a minute, however many addresses it is used from, and none of
// it is taken from the owner's other devices.
func TestStolenDeviceFigures(t *testing.T) {
	clock := tokenauthtest.NewClock()
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now, MaxWait: -1})
	start := clock.Now()
	guesses := map[int]int{}
	for i := 0; i <= 7200; i++ {
		key := login.LimitKey{Addr: fmt.Sprintf("10.%d.%d.1", i/250, i%250), Username: "john", Device: "stolen"}
		if _, ok := l.Allow(ctx, key); ok {
			l.Done(ctx, key, login.Failed)
			guesses[int((clock.Now().Sub(start)-1)/time.Hour)]++
		}
		clock.Advance(time.Second)
	}
	assert.Equal(t, map[int]int{0: 65, 1: 60}, guesses)

	owner := login.LimitKey{Addr: "198.51.100.1", Username: "john", Device: "owner's"}
	_, ok := l.Allow(ctx, owner)
	assert.True(t, ok, "the owner's own device")
	l.Done(ctx, owner, login.Succeeded)
	noDevice := login.LimitKey{Addr: "198.51.100.2", Username: "john"}
	_, ok = l.Allow(ctx, noDevice)
	assert.True(t, ok, "the device's failures do not spend the account's credit")
}

// A success from a device forgives the device's failures.
func TestDeviceSuccessClearsFailures(t *testing.T) {
	clock := tokenauthtest.NewClock()
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now, MaxWait: -1})
	for round := range 3 {
		for i := range 5 {
			key := login.LimitKey{Addr: fmt.Sprintf("10.0.%d.%d", round, i), Username: "john", Device: "d"}
			_, ok := l.Allow(ctx, key)
			require.True(t, ok, "round %d, typo %d", round, i)
			l.Done(ctx, key, login.Failed)
		}
		key := login.LimitKey{Addr: "10.1.0.1", Username: "john", Device: "d"}
		_, ok := l.Allow(ctx, key)
		require.False(t, ok, "the 6th failure in a row waits")
		clock.Advance(time.Minute)
		_, ok = l.Allow(ctx, key)
		require.True(t, ok)
		l.Done(ctx, key, login.Succeeded)
	}
}

// Devices and accounts under concurrent use: parallel guesses with one
// stolen cookie from many addresses never pass the device's credit.
func TestParallelDeviceGuesses(t *testing.T) {
	clock := tokenauthtest.NewClock()
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now, MaxWait: 50 * time.Millisecond})
	var mu sync.Mutex
	let := 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := login.LimitKey{Addr: fmt.Sprintf("10.0.0.%d", i), Username: "john", Device: "stolen"}
			if _, ok := l.Allow(ctx, key); ok {
				mu.Lock()
				let++
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				l.Done(ctx, key, login.Failed)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, let)
}
