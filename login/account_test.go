package login_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Guesses spread over many addresses still meet a limit per account,
// while the account's owner logs in from where they always do.
func TestLimiterPerAccount(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{}, login.Options{
		Limiter: newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now}),
	})
	const home = "[2001:db8:1:ffff::7]:443"
	tokenOf(t, loginAs(t, fx.h, home, "john", password))
	before := len(fx.users.attempts())

	// 20 /64s of one /48 each make 5 guesses at john.
	throttled := 0
	for i := range 20 {
		for range 5 {
			w := loginAs(t, fx.h, fmt.Sprintf("[2001:db8:1:%x::1]:443", i), "john", "guess")
			if w.Code == http.StatusTooManyRequests {
				throttled++
				assert.Equal(t, "60", w.Header().Get("Retry-After"))
			}
		}
	}
	assert.Equal(t, 10, len(fx.users.attempts())-before, "the account's burst")
	assert.Equal(t, 90, throttled)

	// The owner is not held up at home, other accounts not at all.
	tokenOf(t, loginAs(t, fx.h, home, "john", password))
	tokenOf(t, loginAs(t, fx.h, "[2001:db8:1:ff::1]:443", "jane", " spaced out "))
	// From an address that failed before (the attacker's /48), the owner
	// waits for the account's next attempt.
	assertThrottled(t, loginAs(t, fx.h, "[2001:db8:1:ff::2]:443", "john", password), 60)
	// From a new address in good standing, they take one of the 2
	// attempts kept for such addresses.
	tokenOf(t, loginAs(t, fx.h, "198.51.100.1:1", "john", password))
	clock.Advance(time.Minute)
	tokenOf(t, loginAs(t, fx.h, "[2001:db8:1:ff::2]:443", "john", password))
}

// The figures the package documents: an attacker with an unlimited
// supply of addresses gets 72 guesses at an account in the first hour
// (10, 2 more from addresses in good standing, and 60 refills) and 60 in
// each hour after; 70 and 60 when its addresses failed before.
func TestLimiterAccountFigures(t *testing.T) {
	cases := []struct {
		name  string
		fresh bool // each guess from an address that never failed
		want  map[int]int
	}{
		{"addresses in good standing", true, map[int]int{0: 72, 1: 60}},
		{"addresses that failed before", false, map[int]int{0: 70, 1: 60}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := tokenauthtest.NewClock()
			l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now})
			ctx := context.Background()
			addr := func(i int) string { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String() }
			if !c.fresh {
				for i := range 7201 { // each address fails once elsewhere
					key := login.LimitKey{Addr: addr(i), Username: fmt.Sprint("other", i)}
					_, ok := l.Allow(ctx, key)
					require.True(t, ok)
					l.Done(ctx, key, login.Failed)
				}
			}
			start := clock.Now()
			guesses := map[int]int{} // by hour
			for i := 0; i <= 7200; i++ {
				key := login.LimitKey{Addr: addr(i), Username: "john"}
				if _, ok := l.Allow(ctx, key); ok {
					l.Done(ctx, key, login.Failed)
					// [0, 1h] is the first hour, (1h, 2h] the second.
					guesses[int((clock.Now().Sub(start)-1)/time.Hour)]++
				}
				clock.Advance(time.Second)
			}
			assert.Equal(t, c.want, guesses)
		})
	}
}

// A key without a username is counted by its address alone, so that a
// host can throttle another endpoint (sign-up) per address with a
// MemoryLimiter.
func TestLimiterWithoutUsername(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{MaxWait: -1})
	for i := range 20 {
		key := login.LimitKey{Addr: fmt.Sprintf("192.0.2.%d", i)}
		for range 5 {
			_, ok := l.Allow(ctx, key)
			require.True(t, ok, "no account budget is shared between addresses")
			l.Done(ctx, key, login.Failed)
		}
		_, ok := l.Allow(ctx, key)
		assert.False(t, ok)
	}
	sizes := l.Sizes()
	assert.Equal(t, []int{0, 0, 0}, sizes[2:], "no account, device or familiar entries")
}
