package tokenauth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// touch records a use of t, to be written in the background, if the last
// recorded one is older than the touch interval. With IdleTimeout the use
// slides ExpiresAt forward, never past the token's deadline.
func (a *Authenticator) touch(t *Token, now time.Time) {
	if a.opts.TouchInterval < 0 || now.Sub(t.LastUsedAt) < a.opts.TouchInterval {
		return
	}
	use := TokenUse{ID: t.ID, LastUsed: now.UTC().Truncate(time.Microsecond)}
	if a.opts.IdleTimeout > 0 && !t.ExpiresAt.IsZero() {
		deadline := t.MaxExpiresAt
		if deadline.IsZero() && a.opts.DefaultTTL > 0 {
			// A record from before absolute deadlines (or a store that
			// lost one) would otherwise slide for ever: it gets the
			// lifetime every token issued now has.
			deadline = t.CreatedAt.Add(a.opts.DefaultTTL)
		}
		use.ExpiresAt = a.slide(now, deadline)
	}
	a.uses.Record(now, use)
}

// writeUses writes a batch of uses in one Touch, bounded like any store
// call.
func (a *Authenticator) writeUses(uses []TokenUse) error {
	ctx, release := a.bound(context.Background())
	defer release()
	err := a.store.Touch(ctx, uses)
	if err != nil {
		a.log.Failure(context.Background(), slog.LevelWarn, "record token uses", err)
	}
	return err
}

// Close writes the recorded token uses not yet written; call it after
// http.Server.Shutdown. Uses recorded after Close are not written.
func (a *Authenticator) Close() error {
	a.uses.Close()
	return nil
}

// maxPendingUses bounds the uses waiting to be written: past it a use is
// not recorded until the next write makes room, and the token's next
// request records it again.
const maxPendingUses = 1 << 16

// useWriter queues each token's use at most once per touch interval,
// however many requests carry it, and writes the queue in the background
// every second (or every interval, if shorter), so that no request waits
// for a write.
type useWriter struct {
	interval, every time.Duration
	now             func() time.Time
	write           func([]TokenUse) error

	mu      sync.Mutex
	queued  map[string]time.Time // token ID -> when its use was last queued
	pending map[string]TokenUse  // token ID -> use not yet written
	running bool                 // the flusher goroutine runs
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

func newUseWriter(interval time.Duration, now func() time.Time, write func([]TokenUse) error) *useWriter {
	return &useWriter{
		interval: interval, every: min(time.Second, interval), now: now, write: write,
		queued: make(map[string]time.Time), pending: make(map[string]TokenUse),
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
}

// Record queues use, made at time at, unless the token's use was queued
// within the interval.
func (w *useWriter) Record(at time.Time, use TokenUse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.queued[use.ID]; ok && at.Sub(last) < w.interval {
		return
	}
	if w.closed || len(w.pending) >= maxPendingUses {
		return
	}
	w.queued[use.ID] = at
	w.pending[use.ID] = use
	if !w.running {
		w.running = true
		go w.run()
	}
}

// run flushes the queue every w.every until Close.
func (w *useWriter) run() {
	defer close(w.stopped)
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-w.wake:
			w.Flush()
			return
		}
		w.Flush()
	}
}

// Flush writes every pending use now. Should the write fail, each token's
// next use queues it again, without waiting out the interval.
func (w *useWriter) Flush() {
	w.mu.Lock()
	uses := make([]TokenUse, 0, len(w.pending))
	for _, u := range w.pending {
		uses = append(uses, u)
	}
	clear(w.pending)
	// Claims older than the interval have done their job.
	now := w.now()
	for id, at := range w.queued {
		if now.Sub(at) >= w.interval {
			delete(w.queued, id)
		}
	}
	w.mu.Unlock()
	if len(uses) == 0 || w.write(uses) == nil {
		return
	}
	w.mu.Lock()
	for _, u := range uses {
		delete(w.queued, u.ID)
	}
	w.mu.Unlock()
}

// Close writes what is pending and stops the flusher; later uses are not
// recorded.
func (w *useWriter) Close() {
	w.mu.Lock()
	running, closed := w.running, w.closed
	w.closed = true
	w.mu.Unlock()
	switch {
	case closed:
	case running:
		w.wake <- struct{}{}
		<-w.stopped
	default:
		w.Flush()
	}
}
