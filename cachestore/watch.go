package cachestore

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Resubscription delays: the first after a break, doubling up to the
// last. A subscription that lasted maxBackoff starts again from the first.
const (
	defaultMinBackoff = 100 * time.Millisecond
	defaultMaxBackoff = 10 * time.Second
)

// errWatchEnded stands for a Watch that returned no error although its
// context had not ended, which the Watcher contract does not allow.
var errWatchEnded = errors.New("cachestore: watch ended without an error")

// watchState is the cache's subscription to the wrapped store's events.
type watchState struct {
	enabled  bool        // the wrapped store is a Watcher
	bypass   atomic.Bool // Options.BypassWhileUnwatched, until the store says it cannot watch
	watching atomic.Bool // subscribed: events reach the cache

	onWatch    func(bool, error)
	log        *slog.Logger
	minBackoff time.Duration
	maxBackoff time.Duration

	stop     context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// bypassing reports whether lookups must skip the cache: unwatched, with
// Options.BypassWhileUnwatched.
func (w *watchState) bypassing() bool {
	return w.enabled && w.bypass.Load() && !w.watching.Load()
}

// startWatching runs the watching goroutine over w until stopWatching.
func (c *Store) startWatching(w tokenauth.Watcher, opts Options, minBackoff, maxBackoff time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c.watch = watchState{
		enabled: true, onWatch: opts.OnWatch, log: opts.Logger,
		minBackoff: minBackoff, maxBackoff: maxBackoff,
		stop: cancel, done: make(chan struct{}),
	}
	c.watch.bypass.Store(opts.BypassWhileUnwatched)
	if c.watch.log == nil {
		c.watch.log = slog.Default()
	}
	go c.watchLoop(ctx, w)
}

// stopWatching ends the watching goroutine and waits for it.
func (c *Store) stopWatching() {
	if !c.watch.enabled {
		return
	}
	c.watch.stopOnce.Do(func() {
		c.watch.stop()
		<-c.watch.done
	})
}

// watchLoop watches w until ctx ends, subscribing again with backoff
// whenever the subscription breaks.
func (c *Store) watchLoop(ctx context.Context, w tokenauth.Watcher) {
	defer close(c.watch.done)
	st := &c.watch
	delay := st.minBackoff
	down := false // a failure was logged and not yet followed by a subscription
	for {
		var upSince time.Time
		err := w.Watch(ctx, func() {
			// Events published before now were missed: nothing cached
			// may be trusted. Dropped before lookups may use the cache.
			c.forgetAll()
			st.watching.Store(true)
			upSince = time.Now()
			if down {
				st.log.LogAttrs(ctx, slog.LevelInfo, "cachestore: invalidation channel is back; revocations reach this process at once again")
				down = false
			}
			if st.onWatch != nil {
				st.onWatch(true, nil)
			}
		}, c.eventChanged)
		st.watching.Store(false)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errors.ErrUnsupported) && upSince.IsZero() {
			// The store can publish no revocations as configured (a
			// PostgreSQL store without a listener): say so once, and
			// rely on the TTL as a cache without a channel does:
			// bypassing would send every lookup to the store for good.
			st.bypass.Store(false)
			st.log.LogAttrs(ctx, slog.LevelInfo, "cachestore: the wrapped store cannot watch revocations; other processes' revocations take up to the cache TTL to be seen here",
				slog.String("reason", err.Error()))
			if st.onWatch != nil {
				st.onWatch(false, err)
			}
			return
		}
		if err == nil {
			err = errWatchEnded
		}
		if !upSince.IsZero() && time.Since(upSince) >= st.maxBackoff {
			delay = st.minBackoff
		}
		wait := delay/2 + rand.N(delay/2+1)
		level, fallback := slog.LevelWarn, "revocations made by other processes take up to the cache TTL to be seen here"
		if down {
			level = slog.LevelDebug // already said; the hook counts every failure
		}
		if st.bypass.Load() {
			fallback = "every lookup goes to the store"
		}
		st.log.LogAttrs(ctx, level, "cachestore: invalidation channel is down; "+fallback+" until it is back",
			slog.String("error", err.Error()), slog.Duration("retry_in", wait))
		down = true
		if st.onWatch != nil {
			st.onWatch(false, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		delay = min(2*delay, st.maxBackoff)
	}
}

// eventChanged drops the entries of a token the wrapped store says was
// deleted or expired early; an event without a token ID stands for all of
// the user's tokens.
func (c *Store) eventChanged(tokenID, userID string) {
	if tokenID == "" {
		c.forgetUser(userID)
		return
	}
	c.forgetID(tokenID)
}
