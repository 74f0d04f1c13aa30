package redisstore_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// CountRate has the shape the core takes for a shared rate counter.
var _ func(context.Context, string, int, time.Duration) (time.Duration, bool, error) = (*redisstore.Store)(nil).CountRate

// At most limit calls pass in a window; the next is refused with the time
// left in the window; the window's end lets calls through again; the
// counter expires with its window; keys count apart.
func TestCountRate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c, p := newStoreOn(t, b, redisstore.Options{})
		const window = 400 * time.Millisecond
		var opened time.Time // by then the window had opened
		for i := range 3 {
			retry, ok, err := s.CountRate(ctx, "tok-1", 3, window)
			require.NoError(t, err)
			assert.True(t, ok, "call %d", i+1)
			assert.Zero(t, retry)
			if i == 0 {
				opened = time.Now()
			}
		}
		ttl := pttl(t, c, p+"r:tok-1")
		assert.True(t, ttl > 0 && ttl <= window, "the counter expires with its window: PTTL %v", ttl)
		sent := time.Now()
		retry, ok, err := s.CountRate(ctx, "tok-1", 3, window)
		require.NoError(t, err)
		assert.False(t, ok, "the fourth call in the window")
		assert.True(t, retry > 0 && retry <= window-sent.Sub(opened)+time.Millisecond, "retry after %v, %v after the window opened", retry, sent.Sub(opened))
		_, ok, err = s.CountRate(ctx, "tok-2", 3, window)
		require.NoError(t, err)
		assert.True(t, ok, "another key counts apart")

		time.Sleep(retry + 20*time.Millisecond)
		assert.Equal(t, time.Duration(-2), pttl(t, c, p+"r:tok-1"), "the counter is gone with its window")
		_, ok, err = s.CountRate(ctx, "tok-1", 3, window)
		require.NoError(t, err)
		assert.True(t, ok, "a new window")
	})
}

// A refused call is not counted, so that a client that keeps trying is let
// through once the window ends; a counter left without expiry is given
// one rather than refuse for ever; a window under a millisecond lasts
// one.
func TestCountRateEdges(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{})
	for range 10 {
		_, _, err := s.CountRate(ctx, "k", 2, time.Minute)
		require.NoError(t, err)
	}
	n, err := c.Get(ctx, p+"r:k").Int()
	require.NoError(t, err)
	assert.Equal(t, 2, n, "only the calls that passed are counted")

	require.NoError(t, c.Set(ctx, p+"r:stuck", 5, 0).Err())
	retry, ok, err := s.CountRate(ctx, "stuck", 5, time.Second)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, time.Second, retry)
	approxTTL(t, time.Second, pttl(t, c, p+"r:stuck"))

	for range 2 {
		_, ok, err = s.CountRate(ctx, "tiny", 1, time.Microsecond)
		require.NoError(t, err)
		assert.True(t, ok, "a window of a millisecond, over by the next call")
		time.Sleep(5 * time.Millisecond)
	}

	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, -time.Second}} {
		_, ok, err := s.CountRate(ctx, "k", tc.limit, tc.window)
		assert.Error(t, err, "limit %d, window %v", tc.limit, tc.window)
		assert.False(t, ok)
	}
}

// Redis unreachable: an error, and not ok; the caller decides.
func TestCountRateOutage(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := redisstore.New(c, redisstore.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, ok, err := s.CountRate(ctx, "k", 1, time.Second)
	assert.Error(t, err)
	assert.False(t, ok)
}

// Two replicas (two Stores on clients of their own) share a rate limit
// through Redis: 100 clients, half on each, hammer one key for several
// windows, and at most limit calls pass in each window.
func TestCountRateSharedByReplicas(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const (
			clients = 100
			limit   = 50
			window  = time.Second
			windows = 5
		)
		a, _, p := newStoreOn(t, b, redisstore.Options{})
		other, err := redisstore.New(b.client(t), redisstore.Options{Prefix: p})
		require.NoError(t, err)
		replicas := []*redisstore.Store{a, other}

		ctx := context.Background()
		var mu sync.Mutex
		var passed []time.Time
		var calls, refused atomic.Int64
		var start, deadline time.Time
		var ready, wg sync.WaitGroup
		ready.Add(clients)
		begin := make(chan struct{})
		for i := range clients {
			s := replicas[i%2]
			wg.Go(func() {
				// Each client's connection dialled before the clock starts.
				if _, _, err := s.CountRate(ctx, "warm-up", 1, time.Second); err != nil {
					t.Errorf("CountRate: %v", err)
				}
				ready.Done()
				<-begin
				for time.Now().Before(deadline) {
					retry, ok, err := s.CountRate(ctx, "hot-token", limit, window)
					at := time.Now()
					calls.Add(1)
					if err != nil {
						t.Errorf("CountRate: %v", err)
						return
					}
					if !ok {
						refused.Add(1)
						if retry <= 0 || retry > window {
							t.Errorf("retry after %v", retry)
						}
						continue
					}
					mu.Lock()
					passed = append(passed, at)
					mu.Unlock()
				}
			})
		}
		ready.Wait()
		start = time.Now()
		deadline = start.Add(windows*window - window/2) // ends mid-window
		close(begin)
		wg.Wait()
		elapsed := time.Since(start)

		// Calls pass in a burst as each window opens, and are refused until
		// it ends: a gap of half a window separates two windows' passes.
		slices.SortFunc(passed, func(x, y time.Time) int { return x.Compare(y) })
		var perWindow []int
		var spans []time.Duration
		first := passed[0]
		for i, at := range passed {
			if i == 0 || at.Sub(passed[i-1]) > window/2 {
				perWindow = append(perWindow, 0)
				spans = append(spans, 0)
				first = at
			}
			perWindow[len(perWindow)-1]++
			spans[len(spans)-1] = at.Sub(first)
		}
		t.Logf("%s: %d clients on 2 replicas, %d calls in %v (%.0f/s), %d refused; passed per %v window: %v; each window's passes within %v",
			b.name, clients, calls.Load(), elapsed.Round(time.Millisecond), float64(calls.Load())/elapsed.Seconds(), refused.Load(), window, perWindow, spans)
		assert.Len(t, perWindow, windows, "one burst per window")
		for i, n := range perWindow {
			assert.LessOrEqual(t, n, limit, "window %d", i)
			assert.Less(t, spans[i], window/2, "window %d's passes lie together", i)
		}
		assert.LessOrEqual(t, len(passed), limit*windows)
	})
}
