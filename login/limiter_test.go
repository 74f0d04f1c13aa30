package login_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newLimiter(t testing.TB, opts login.MemoryLimiterOptions) *login.MemoryLimiter {
	t.Helper()
	l, err := login.NewMemoryLimiter(opts)
	require.NoError(t, err)
	return l
}

func assertThrottled(t testing.TB, w *httptest.ResponseRecorder, seconds int) {
	t.Helper()
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, fmt.Sprint(seconds), w.Header().Get("Retry-After"))
	unit := "seconds"
	if seconds == 1 {
		unit = "second"
	}
	assert.Equal(t, fmt.Sprintf(`{"detail":"Request was throttled. Expected available in %d %s."}`, seconds, unit), w.Body.String())
}

func TestLimiterThrottlesFailures(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{}, login.Options{
		Limiter: newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 3, Window: time.Minute, Now: clock.Now}),
	})
	const me, elsewhere = "198.51.100.7:5555", "203.0.113.9:443"

	for range 3 {
		assert.Equal(t, bodyBadCredentials, loginAs(t, fx.h, me, "john", "guess").Body.String())
		clock.Advance(time.Second)
	}
	// The 4th attempt inside the window: throttled until the window that
	// began with the first failure ends, right password or not.
	assertThrottled(t, loginAs(t, fx.h, me, "john", "guess"), 57)
	clock.Advance(15500 * time.Millisecond)
	assertThrottled(t, loginAs(t, fx.h, me, "john", password), 42)
	assert.Len(t, fx.users.attempts(), 3, "throttled attempts never reach the checker")

	// The user elsewhere is not locked out, nor another user here.
	tokenOf(t, loginAs(t, fx.h, elsewhere, "john", password))
	assert.Equal(t, bodyBadCredentials, loginAs(t, fx.h, me, "jane", "guess").Body.String())

	clock.Advance(41 * time.Second)
	assertThrottled(t, loginAs(t, fx.h, me, "john", password), 1)
	clock.Advance(500 * time.Millisecond)
	tokenOf(t, loginAs(t, fx.h, me, "john", password))
}

func TestLimiterDoesNotThrottleSuccess(t *testing.T) {
	fx := newFixture(t, tokenauth.Options{}, login.Options{})
	for range 100 {
		tokenOf(t, loginAs(t, fx.h, "192.0.2.1:1", "john", password))
	}
}

func TestLimiterSuccessClearsFailures(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{}, login.Options{
		Limiter: newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 3, Now: clock.Now}),
	})
	const addr = "192.0.2.1:1"
	for range 2 {
		loginAs(t, fx.h, addr, "john", "typo")
	}
	tokenOf(t, loginAs(t, fx.h, addr, "john", password))
	for range 3 {
		assert.Equal(t, http.StatusBadRequest, loginAs(t, fx.h, addr, "john", "typo").Code)
	}
	assertThrottled(t, loginAs(t, fx.h, addr, "john", "typo"), 60)
}

func TestLimiterPerAddress(t *testing.T) {
	clock := tokenauthtest.NewClock()
	fx := newFixture(t, tokenauth.Options{}, login.Options{
		Limiter: newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 3, MaxAddrFailures: 10, Now: clock.Now}),
	})
	// One address sprays a password over many usernames.
	for i := range 10 {
		assert.Equal(t, http.StatusBadRequest, loginAs(t, fx.h, "192.0.2.1:1", fmt.Sprint("user", i), "Summer2026!").Code)
	}
	assertThrottled(t, loginAs(t, fx.h, "192.0.2.1:2", "john", password), 60)
	tokenOf(t, loginAs(t, fx.h, "192.0.2.2:1", "john", password))
}

func TestLimiterKeys(t *testing.T) {
	cases := []struct {
		name       string
		a, b       login.LimitKey
		sameCounts bool
	}{
		{"IPv6 grouped by /64", login.LimitKey{Addr: "2001:db8::1", Username: "john"}, login.LimitKey{Addr: "2001:db8::ffff:1", Username: "john"}, true},
		{"IPv4-mapped IPv6", login.LimitKey{Addr: "::ffff:192.0.2.1", Username: "john"}, login.LimitKey{Addr: "192.0.2.1", Username: "john"}, true},
		{"other /64", login.LimitKey{Addr: "2001:db8::1", Username: "john"}, login.LimitKey{Addr: "2001:db8:0:1::1", Username: "john"}, false},
		{"other IPv4", login.LimitKey{Addr: "192.0.2.1", Username: "john"}, login.LimitKey{Addr: "192.0.2.2", Username: "john"}, false},
		{"other user", login.LimitKey{Addr: "192.0.2.1", Username: "john"}, login.LimitKey{Addr: "192.0.2.1", Username: "jane"}, false},
		{"address and username boundary", login.LimitKey{Addr: "ab", Username: "c"}, login.LimitKey{Addr: "a", Username: "bc"}, false},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Only the per-address-and-username count can throttle.
			l := newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 1, MaxAddrFailures: 100, MaxAccountFailures: 100, MaxWait: -1})
			_, ok := l.Allow(ctx, c.a)
			require.True(t, ok)
			l.Done(ctx, c.a, login.Failed)
			_, ok = l.Allow(ctx, c.b)
			assert.Equal(t, !c.sameCounts, ok)
		})
	}
}

func TestLimiterExpiry(t *testing.T) {
	ctx := context.Background()
	clock := tokenauthtest.NewClock()
	l := newLimiter(t, login.MemoryLimiterOptions{MaxFailures: 2, Window: time.Minute, MaxWait: -1, Now: clock.Now})
	key := login.LimitKey{Addr: "192.0.2.1", Username: "john"}

	for range 2 {
		_, ok := l.Allow(ctx, key)
		require.True(t, ok)
		l.Done(ctx, key, login.Failed)
	}
	wait, ok := l.Allow(ctx, key)
	assert.False(t, ok)
	assert.Equal(t, time.Minute, wait)
	assert.Equal(t, [5]int{1, 1, 1, 0, 0}, l.Sizes())

	clock.Advance(10 * time.Minute)
	_, ok = l.Allow(ctx, login.LimitKey{Addr: "192.0.2.2", Username: "x"})
	assert.True(t, ok)
	assert.Equal(t, [5]int{1, 1, 1, 0, 0}, l.Sizes(), "expired entries are dropped")

	t.Run("attempts that never end count for one window", func(t *testing.T) {
		for range 2 {
			_, ok := l.Allow(ctx, key) // no Done: a broken caller
			require.True(t, ok)
		}
		_, ok := l.Allow(ctx, key)
		assert.False(t, ok)
		clock.Advance(time.Minute)
		_, ok = l.Allow(ctx, key)
		assert.True(t, ok)
	})

	t.Run("idle entries are not kept", func(t *testing.T) {
		l := newLimiter(t, login.MemoryLimiterOptions{Now: clock.Now})
		for _, outcome := range []login.Outcome{login.Errored, login.Succeeded} {
			_, ok := l.Allow(ctx, key)
			require.True(t, ok)
			assert.Equal(t, [5]int{1, 1, 1, 0, 0}, l.Sizes())
			l.Done(ctx, key, outcome)
		}
		assert.Equal(t, [5]int{0, 0, 0, 0, 1}, l.Sizes(), "only the familiar address is kept")
	})
}

func TestLimiterConcurrentUse(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t, login.MemoryLimiterOptions{MaxKeys: 64, MaxWait: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := login.LimitKey{Addr: fmt.Sprintf("192.0.2.%d", i%50), Username: fmt.Sprint("user", g, i%7)}
				if i%3 == 0 {
					key.Device = fmt.Sprint("device", i%5)
				}
				if _, ok := l.Allow(ctx, key); ok {
					l.Done(ctx, key, login.Outcome(1+i%3))
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range l.Sizes() {
		assert.LessOrEqual(t, n, 64)
	}
}

func TestNewMemoryLimiterInvalidOptions(t *testing.T) {
	for _, opts := range []login.MemoryLimiterOptions{
		{MaxFailures: -1},
		{MaxAddrFailures: -1},
		{MaxAccountFailures: -1},
		{Window: -time.Second},
		{AccountRefill: -time.Second},
		{MaxKeys: -1},
	} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			l, err := login.NewMemoryLimiter(opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, l)
		})
	}
}

func TestNoLimit(t *testing.T) {
	fx := newFixture(t, tokenauth.Options{}, login.Options{Limiter: login.NoLimit})
	for range 50 {
		assert.Equal(t, http.StatusBadRequest, loginAs(t, fx.h, "192.0.2.1:1", "john", "guess").Code)
	}
}
