package tokenauthtest

import (
	"sync"
	"time"
)

// Clock is a settable clock for tests of expiry, throttling and caching.
// Pass its Now method wherever tokenauth takes a clock (Options.Now and the
// Now options of the login and cachestore packages); share one Clock
// between them so that they agree on the time. It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to a fixed instant, 2026-01-02 03:04:05 UTC,
// so that test output does not depend on when the test runs.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
