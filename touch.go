package tokenauth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// maxPendingUses bounds the uses waiting to be written: past it a use is
// not recorded until the next flush makes room, and the next request with
// the token tries again.
const maxPendingUses = 1 << 16

// useWriter records token uses in memory and writes them to the store in
// the background, in batches, so that no request waits for a write. Each
// token's use is queued at most once per TouchInterval, however many
// requests carry it.
type useWriter struct {
	store    Store
	interval time.Duration // TouchInterval: how often a token's use is queued
	every    time.Duration // how often the queue is flushed
	timeout  time.Duration // bound of one flush
	log      *failureLog
	now      func() time.Time

	// queued maps a token ID to when its use was last queued. Requests
	// read it without a lock: a token in use is checked on every request.
	queued sync.Map

	mu      sync.Mutex
	pending map[string]TokenUse // token ID -> latest use not yet written
	running bool                // the flusher goroutine runs
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

func newUseWriter(s Store, interval, timeout time.Duration, log *failureLog, now func() time.Time) *useWriter {
	return &useWriter{
		store: s, interval: interval, every: min(time.Second, interval), timeout: timeout, log: log, now: now,
		pending: make(map[string]TokenUse), wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
}

// record queues a use of the token with the given ID unless one was queued
// within the interval.
func (w *useWriter) record(use TokenUse) {
	if last, ok := w.queued.Load(use.ID); ok && use.LastUsed.Sub(last.(time.Time)) < w.interval {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.queued.Load(use.ID); ok && use.LastUsed.Sub(last.(time.Time)) < w.interval {
		return // queued by a concurrent request
	}
	if w.closed || len(w.pending) >= maxPendingUses {
		return
	}
	w.queued.Store(use.ID, use.LastUsed)
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
			w.flush()
			return
		}
		w.flush()
	}
}

// flush writes every pending use, in one batch where the store allows it.
// A use that fails to be written is dropped and its token unclaimed, so
// that the next request with it queues it again.
func (w *useWriter) flush() {
	w.mu.Lock()
	uses := make([]TokenUse, 0, len(w.pending))
	for _, u := range w.pending {
		uses = append(uses, u)
	}
	clear(w.pending)
	w.mu.Unlock()
	// Claims older than the interval have done their job.
	now := w.now()
	w.queued.Range(func(id, at any) bool {
		if now.Sub(at.(time.Time)) >= w.interval {
			w.queued.Delete(id)
		}
		return true
	})
	if len(uses) == 0 {
		return
	}
	ctx := context.Background()
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	var failed []TokenUse
	if b, ok := w.store.(BatchToucher); ok {
		if err := b.TouchBatch(ctx, uses); err != nil {
			failed = uses
			w.log.failure(ctx, slog.LevelWarn, "record token uses", err)
		}
	} else {
		for _, u := range uses {
			err := w.store.Touch(ctx, u.ID, u.LastUsed, u.ExpiresAt)
			if err != nil && !errors.Is(err, ErrNotFound) {
				failed = append(failed, u)
				w.log.failure(ctx, slog.LevelWarn, "record token use", err)
			}
		}
	}
	for _, u := range failed {
		w.queued.Delete(u.ID)
	}
}

// close writes what is pending and stops the flusher.
func (w *useWriter) close() {
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
		w.flush()
	}
}
