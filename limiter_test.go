package tokenauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limiterClock is a settable clock for throttling tests.
type limiterClock struct {
	mu  sync.Mutex
	now time.Time
}

func newLimiterClock() *limiterClock {
	return &limiterClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *limiterClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *limiterClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestLimiter(t testing.TB, opts tokenauth.LimiterOptions) *tokenauth.MemoryLimiter {
	t.Helper()
	l, err := tokenauth.NewLimiter(opts)
	require.NoError(t, err)
	return l
}

// loginFrom posts JSON credentials from the given client address.
func loginFrom(t testing.TB, h http.Handler, addr, username, password string) *httptest.ResponseRecorder {
	t.Helper()
	ct, body := encodeLoginJSON(t, credentials(username, password))
	r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
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
	clock := newLimiterClock()
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{
		Limiter: newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: 3, Window: time.Minute, Now: clock.Now}),
	})
	const me, elsewhere = "198.51.100.7:5555", "203.0.113.9:443"

	for range 3 {
		assert.Equal(t, bodyBadCredentials, loginFrom(t, fx.login, me, "john", "guess").Body.String())
		clock.Advance(time.Second)
	}
	// The 4th attempt inside the window: throttled until the window that
	// began with the first failure ends, right password or not.
	assertThrottled(t, loginFrom(t, fx.login, me, "john", "guess"), 57)
	clock.Advance(15500 * time.Millisecond)
	assertThrottled(t, loginFrom(t, fx.login, me, "john", loginPassword), 42)
	assert.Len(t, fx.checker.attempts(), 3, "throttled attempts never reach the checker")

	// The user elsewhere is not locked out, nor another user here.
	tokenOf(t, loginFrom(t, fx.login, elsewhere, "john", loginPassword))
	assert.Equal(t, bodyBadCredentials, loginFrom(t, fx.login, me, "jane", "guess").Body.String())

	clock.Advance(41 * time.Second)
	assertThrottled(t, loginFrom(t, fx.login, me, "john", loginPassword), 1)
	clock.Advance(499 * time.Millisecond)
	assertThrottled(t, loginFrom(t, fx.login, me, "john", loginPassword), 1)
	clock.Advance(time.Millisecond)
	tokenOf(t, loginFrom(t, fx.login, me, "john", loginPassword))
}

func TestLimiterDoesNotThrottleSuccess(t *testing.T) {
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
	for range 100 {
		tokenOf(t, loginFrom(t, fx.login, "192.0.2.1:1", "john", loginPassword))
	}
}

func TestLimiterSuccessClearsFailures(t *testing.T) {
	clock := newLimiterClock()
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{
		Limiter: newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: 3, Now: clock.Now}),
	})
	const addr = "192.0.2.1:1"
	for range 2 {
		loginFrom(t, fx.login, addr, "john", "typo")
	}
	tokenOf(t, loginFrom(t, fx.login, addr, "john", loginPassword))
	for range 3 {
		assert.Equal(t, http.StatusBadRequest, loginFrom(t, fx.login, addr, "john", "typo").Code)
	}
	assertThrottled(t, loginFrom(t, fx.login, addr, "john", "typo"), 60)
}

func TestLimiterPerAddress(t *testing.T) {
	clock := newLimiterClock()
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{
		Limiter: newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: 3, MaxAddrFailures: 10, Now: clock.Now}),
	})
	// One address sprays a password over many usernames.
	for i := range 10 {
		assert.Equal(t, http.StatusBadRequest, loginFrom(t, fx.login, "192.0.2.1:1", fmt.Sprint("user", i), "Summer2026!").Code)
	}
	assertThrottled(t, loginFrom(t, fx.login, "192.0.2.1:2", "john", loginPassword), 60)
	tokenOf(t, loginFrom(t, fx.login, "192.0.2.2:1", "john", loginPassword))
}

func TestLimiterKeys(t *testing.T) {
	cases := []struct {
		name       string
		a, b       tokenauth.LimitKey
		sameCounts bool
	}{
		{"case-insensitive usernames", tokenauth.LimitKey{"192.0.2.1", "John"}, tokenauth.LimitKey{"192.0.2.1", "jOHN"}, true},
		{"non-ASCII case", tokenauth.LimitKey{"192.0.2.1", "ÉLODIE"}, tokenauth.LimitKey{"192.0.2.1", "élodie"}, true},
		{"IPv6 grouped by /64", tokenauth.LimitKey{"2001:db8::1", "john"}, tokenauth.LimitKey{"2001:db8::ffff:1", "john"}, true},
		{"IPv4-mapped IPv6", tokenauth.LimitKey{"::ffff:192.0.2.1", "john"}, tokenauth.LimitKey{"192.0.2.1", "john"}, true},
		{"other /64", tokenauth.LimitKey{"2001:db8::1", "john"}, tokenauth.LimitKey{"2001:db8:0:1::1", "john"}, false},
		{"other IPv4", tokenauth.LimitKey{"192.0.2.1", "john"}, tokenauth.LimitKey{"192.0.2.2", "john"}, false},
		{"other user", tokenauth.LimitKey{"192.0.2.1", "john"}, tokenauth.LimitKey{"192.0.2.1", "jane"}, false},
		{"address and username boundary", tokenauth.LimitKey{"ab", "c"}, tokenauth.LimitKey{"a", "bc"}, false},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// MaxAddrFailures is high so that only the per-user count
			// can throttle.
			l := newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: 1, MaxAddrFailures: 100})
			_, ok := l.Allow(ctx, c.a)
			require.True(t, ok)
			l.Done(ctx, c.a, tokenauth.LoginFailed)
			_, ok = l.Allow(ctx, c.b)
			assert.Equal(t, !c.sameCounts, ok)
		})
	}
}

// A burst of parallel guesses cannot overrun the limit: attempts still
// being checked count until they end.
func TestLimiterParallelBurst(t *testing.T) {
	const attempts, limit = 20, 5
	release := make(chan struct{})
	var checked atomic.Int32
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{})
	h, err := tokenauth.NewLoginHandler(fx.auth, tokenauth.CredentialCheckerFunc(func(context.Context, string, string) (string, error) {
		checked.Add(1)
		<-release
		return "", tokenauth.ErrBadCredentials
	}), tokenauth.LoginOptions{Limiter: newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: limit})})
	require.NoError(t, err)

	codes := make(chan int, attempts)
	var wg sync.WaitGroup
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- loginFrom(t, h, "192.0.2.1:1", "john", "guess").Code
		}()
	}
	// Every attempt beyond the limit is refused while the first ones are
	// still being checked.
	throttled := 0
	for range attempts - limit {
		if <-codes == http.StatusTooManyRequests {
			throttled++
		}
	}
	close(release)
	wg.Wait()
	close(codes)
	for code := range codes {
		assert.Equal(t, http.StatusBadRequest, code)
	}
	assert.Equal(t, attempts-limit, throttled)
	assert.Equal(t, int32(limit), checked.Load())
}

func TestLimiterExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newLimiterClock()
	l := newTestLimiter(t, tokenauth.LimiterOptions{MaxFailures: 2, Window: time.Minute, Now: clock.Now})
	key := tokenauth.LimitKey{Addr: "192.0.2.1", Username: "john"}

	for range 2 {
		_, ok := l.Allow(ctx, key)
		require.True(t, ok)
		l.Done(ctx, key, tokenauth.LoginFailed)
	}
	wait, ok := l.Allow(ctx, key)
	assert.False(t, ok)
	assert.Equal(t, time.Minute, wait)
	assert.Equal(t, 2, l.Len(), "one key for the address, one for address and user")

	clock.Advance(time.Minute)
	_, ok = l.Allow(ctx, tokenauth.LimitKey{Addr: "192.0.2.2", Username: "x"})
	assert.True(t, ok)
	assert.Equal(t, 2, l.Len(), "expired keys are dropped")

	t.Run("attempts that never end count for one window", func(t *testing.T) {
		for range 2 {
			_, ok := l.Allow(ctx, key) // no Done: a checker that panicked
			require.True(t, ok)
		}
		_, ok := l.Allow(ctx, key)
		assert.False(t, ok)
		clock.Advance(time.Minute)
		_, ok = l.Allow(ctx, key)
		assert.True(t, ok)
	})

	t.Run("idle keys are not kept", func(t *testing.T) {
		l := newTestLimiter(t, tokenauth.LimiterOptions{Now: clock.Now})
		for _, outcome := range []tokenauth.LoginOutcome{tokenauth.LoginSucceeded, tokenauth.LoginErrored} {
			_, ok := l.Allow(ctx, key)
			require.True(t, ok)
			assert.Equal(t, 2, l.Len())
			l.Done(ctx, key, outcome)
			assert.Equal(t, 0, l.Len())
		}
	})
}

// Memory stays bounded however many distinct clients and usernames come:
// the table holds at most MaxKeys fixed-size entries and keeps no
// username.
func TestLimiterBoundedMemory(t *testing.T) {
	const maxKeys, clients = 1000, 20_000
	ctx := context.Background()
	l := newTestLimiter(t, tokenauth.LimiterOptions{MaxKeys: maxKeys})
	long := strings.Repeat("u", 1024)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keyOf := func(i int) tokenauth.LimitKey {
		return tokenauth.LimitKey{
			Addr:     netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String(),
			Username: fmt.Sprint(long, i),
		}
	}
	for i := range clients {
		key := keyOf(i)
		if _, ok := l.Allow(ctx, key); ok {
			l.Done(ctx, key, tokenauth.LoginFailed)
		}
		if i%1000 == 0 {
			require.LessOrEqual(t, l.Len(), maxKeys)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Equal(t, maxKeys, l.Len())
	// 20,000 kilobyte usernames would be 20 MB if they were kept.
	assert.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(1<<20))

	// The newest keys survive eviction, with their counts.
	last := keyOf(clients - 1)
	for range 4 {
		_, ok := l.Allow(ctx, last)
		require.True(t, ok)
		l.Done(ctx, last, tokenauth.LoginFailed)
	}
	_, ok := l.Allow(ctx, last)
	assert.False(t, ok, "the 6th failure of the most recent key is throttled")
}

func TestLimiterConcurrentUse(t *testing.T) {
	ctx := context.Background()
	l := newTestLimiter(t, tokenauth.LimiterOptions{MaxKeys: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := tokenauth.LimitKey{Addr: fmt.Sprintf("192.0.2.%d", i%50), Username: fmt.Sprint("user", g, i%7)}
				if _, ok := l.Allow(ctx, key); ok {
					l.Done(ctx, key, tokenauth.LoginOutcome(1+i%3))
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, l.Len(), 64)
}

func TestNewLimiterInvalidOptions(t *testing.T) {
	for _, opts := range []tokenauth.LimiterOptions{
		{MaxFailures: -1},
		{MaxAddrFailures: -1},
		{Window: -time.Second},
		{MaxKeys: -1},
		{MaxKeys: 1},
	} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			l, err := tokenauth.NewLimiter(opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Nil(t, l)
		})
	}
}

func TestNoLimit(t *testing.T) {
	fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{Limiter: tokenauth.NoLimit})
	for range 50 {
		assert.Equal(t, http.StatusBadRequest, loginFrom(t, fx.login, "192.0.2.1:1", "john", "guess").Code)
	}
}

// recordingLimiter records the keys the login handler asks about.
type recordingLimiter struct {
	mu   sync.Mutex
	keys []tokenauth.LimitKey
}

func (l *recordingLimiter) Allow(_ context.Context, k tokenauth.LimitKey) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, k)
	return 0, true
}

func (l *recordingLimiter) Done(context.Context, tokenauth.LimitKey, tokenauth.LoginOutcome) {}

func TestLoginClientIP(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	cases := []struct {
		name       string
		clientIP   func(*http.Request) string
		remoteAddr string
		xff        []string
		want       string
	}{
		{"default: remote address", nil, "192.0.2.1:4242", []string{"198.51.100.1"}, "192.0.2.1"},
		{"default: IPv6", nil, "[2001:db8::1]:4242", nil, "2001:db8::1"},
		{"default: no port", nil, "192.0.2.1", nil, "192.0.2.1"},
		{"untrusted peer", tokenauth.ForwardedFor(proxy), "192.0.2.1:1", []string{"198.51.100.1"}, "192.0.2.1"},
		{"no trusted proxies", tokenauth.ForwardedFor(), "10.0.0.1:1", []string{"198.51.100.1"}, "10.0.0.1"},
		{"trusted peer", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"rightmost untrusted", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"1.1.1.1, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several headers", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"1.1.1.1", "198.51.100.1,10.1.2.3"}, "198.51.100.1"},
		{"ports and brackets", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"[2001:db8::7]:8080, 10.0.0.2:99"}, "2001:db8::7"},
		{"bracketed without port", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"[2001:db8::7]"}, "2001:db8::7"},
		{"garbage ends trust", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"198.51.100.1, evil, 10.0.0.5"}, "10.0.0.5"},
		{"all trusted", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"no header", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", nil, "10.0.0.1"},
		{"empty entries", tokenauth.ForwardedFor(proxy), "10.0.0.1:1", []string{" , 198.51.100.1 ,, "}, "198.51.100.1"},
		{"mapped proxy", tokenauth.ForwardedFor(proxy), "[::ffff:10.0.0.1]:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"unmasked prefix", tokenauth.ForwardedFor(netip.MustParsePrefix("10.9.9.9/8")), "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recordingLimiter{}
			fx := newLoginFixture(t, tokenauth.Options{}, tokenauth.LoginOptions{Limiter: rec, ClientIP: c.clientIP})
			ct, body := encodeLoginJSON(t, credentials("  john ", loginPassword))
			r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			r.RemoteAddr = c.remoteAddr
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			w := httptest.NewRecorder()
			fx.login.ServeHTTP(w, r)
			tokenOf(t, w)
			assert.Equal(t, []tokenauth.LimitKey{{Addr: c.want, Username: "john"}}, rec.keys)
		})
	}
}
