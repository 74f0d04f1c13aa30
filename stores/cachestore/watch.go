package cachestore

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher is implemented by stores that tell every process when a token
// is revoked or its expiry brought forward, by anyone: another replica,
// the CLI, plain SQL. The cache watches the store it wraps, so that a
// revocation reaches every replica at once, not after the cache's TTL.
// redisstore and sqlstore implement it.
type Watcher interface {
	// Watch calls alive once it is subscribed, and again each time it has
	// confirmed that the subscription still delivers (at least once a
	// second); it calls changed with the ID and user ID of every token
	// deleted or expired early (an empty token ID stands for all of the
	// user's tokens), until ctx ends or the subscription breaks. It
	// returns the error that ended it (ctx's error when ctx ended), one
	// wrapping errors.ErrUnsupported when the store cannot watch as
	// configured. Events missed while no Watch runs are lost: a caller
	// that watches again must assume anything changed.
	Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error
}

// Resubscription delays: the first after a break, doubling up to the
// last. A subscription that lasted maxBackoff starts again from the first.
const (
	defaultMinBackoff = 100 * time.Millisecond
	defaultMaxBackoff = 10 * time.Second
)

// aliveFor is how long a confirmation from the watcher vouches for the
// subscription. Past it without another, the cache takes itself to be
// unwatched: a connection that froze silently is noticed within it, even
// if the store's own health check takes longer to give up on it.
const aliveFor = 3 * time.Second

// errWatchEnded stands for a Watch that returned no error although its
// context had not ended, which the Watcher contract does not allow.
var errWatchEnded = errors.New("cachestore: watch ended without an error")

// watchState is the cache's subscription to the wrapped store's events.
type watchState struct {
	enabled    bool // the wrapped store is a Watcher
	allowStale bool // Options.AllowStaleRevocations
	// aliveUntil is when the last confirmation of the subscription stops
	// vouching for it, in UnixNano of the cache's clock; zero while not
	// subscribed.
	aliveUntil atomic.Int64
	reconnects atomic.Uint64

	onWatch    func(bool, error)
	log        *slog.Logger
	now        func() time.Time
	minBackoff time.Duration
	maxBackoff time.Duration

	stop     context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// watched reports whether events reach the cache at now: subscribed, and
// confirmed within aliveFor.
func (w *watchState) watched(now time.Time) bool {
	return now.UnixNano() < w.aliveUntil.Load()
}

// bypassing reports whether lookups at now must skip the cache: the
// store is a Watcher whose events do not reach the cache, and stale
// answers are not allowed.
func (w *watchState) bypassing(now time.Time) bool {
	return w.enabled && !w.allowStale && !w.watched(now)
}

// startWatching runs the watching goroutine over w until stopWatching.
func (c *Store) startWatching(w Watcher, opts Options, minBackoff, maxBackoff time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c.watch = watchState{
		enabled: true, allowStale: opts.AllowStaleRevocations, onWatch: opts.OnWatch, log: opts.Logger, now: c.now,
		minBackoff: minBackoff, maxBackoff: maxBackoff,
		stop: cancel, done: make(chan struct{}),
	}
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
func (c *Store) watchLoop(ctx context.Context, w Watcher) {
	defer close(c.watch.done)
	st := &c.watch
	delay := st.minBackoff
	down := false // a failure was logged and not yet followed by a subscription
	for {
		var upSince time.Time
		err := w.Watch(ctx, func() {
			if upSince.IsZero() {
				// Events published before now were missed: nothing cached
				// may be trusted. Dropped before lookups may use the cache.
				// A subscription that is confirmed again after a silence
				// has lost nothing (the store queued its events), and
				// lookups made while unwatched cached nothing.
				c.forgetAll()
				upSince = time.Now()
				if down {
					st.log.LogAttrs(ctx, slog.LevelInfo, "cachestore: invalidation channel is back; revocations reach this process at once again")
					down = false
				}
				if st.onWatch != nil {
					st.onWatch(true, nil)
				}
			}
			st.aliveUntil.Store(st.now().Add(aliveFor).UnixNano())
		}, c.eventChanged)
		st.aliveUntil.Store(0)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errWatchEnded
		}
		if errors.Is(err, errors.ErrUnsupported) && upSince.IsZero() {
			// The store can publish no revocations as configured: say so
			// once; a retry would fail alike.
			fallback := "every lookup goes to the store: the cache does nothing"
			if st.allowStale {
				fallback = "other processes' revocations take up to the cache TTL to be seen here"
			}
			st.log.LogAttrs(ctx, slog.LevelError, "cachestore: the wrapped store cannot watch revocations; "+fallback,
				slog.String("reason", err.Error()))
			if st.onWatch != nil {
				st.onWatch(false, err)
			}
			return
		}
		if !upSince.IsZero() {
			st.reconnects.Add(1)
			if time.Since(upSince) >= st.maxBackoff {
				delay = st.minBackoff
			}
		}
		wait := delay/2 + rand.N(delay/2+1)
		level, fallback := slog.LevelWarn, "every lookup goes to the store"
		if down {
			level = slog.LevelDebug // already said; the hook counts every failure
		}
		if st.allowStale {
			fallback = "revocations made by other processes take up to the cache TTL to be seen here"
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
