package tokenauth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxRateKeys bounds the in-process counter: about 10 MB. Past it, with
// every window still open, counting fails (503) rather than forget a
// count and let a token past its limit.
const maxRateKeys = 100_000

var errRateKeysFull = errors.New("tokenauth: in-process rate counter full; use a shared RateCounter")

// memoryCounter is the default Options.RateCounter: fixed windows that
// start with a key's first call, counted in this process alone.
type memoryCounter struct {
	now     func() time.Time
	mu      sync.Mutex
	windows map[string]*rateWindow
	// sweepAt is no later than the end of the earliest open window:
	// sweeping a full map before then frees nothing.
	sweepAt time.Time
}

type rateWindow struct {
	end time.Time
	n   int
}

func newMemoryCounter(now func() time.Time) *memoryCounter {
	return &memoryCounter{now: now, windows: make(map[string]*rateWindow)}
}

func (c *memoryCounter) count(_ context.Context, key string, limit int, window time.Duration) (time.Duration, bool, error) {
	return c.countAt(c.now(), key, limit, window)
}

// countAt is count at now, for a caller that has read the clock: the
// check reuses its reading, as a clock read costs as much as the count.
func (c *memoryCounter) countAt(now time.Time, key string, limit int, window time.Duration) (time.Duration, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.windows[key]
	if w == nil {
		if len(c.windows) >= maxRateKeys && !c.sweep(now) {
			return 0, false, errRateKeysFull
		}
		w = new(rateWindow)
		c.windows[key] = w
	}
	if !now.Before(w.end) {
		*w = rateWindow{end: now.Add(window)}
		if c.sweepAt.IsZero() || w.end.Before(c.sweepAt) {
			c.sweepAt = w.end
		}
	}
	if w.n >= limit {
		return w.end.Sub(now), false, nil
	}
	w.n++
	return 0, true, nil
}

// sweep drops the windows that have ended and reports whether that made
// room.
func (c *memoryCounter) sweep(now time.Time) bool {
	if now.Before(c.sweepAt) {
		return false
	}
	var next time.Time
	for k, w := range c.windows {
		if !now.Before(w.end) {
			delete(c.windows, k)
		} else if next.IsZero() || w.end.Before(next) {
			next = w.end
		}
	}
	c.sweepAt = next
	return len(c.windows) < maxRateKeys
}
