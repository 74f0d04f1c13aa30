// Package usequeue records uses of tokens in memory and writes them in the
// background, in batches, so that no request waits for a write.
package usequeue

import (
	"context"
	"sync"
	"time"
)

// maxPending bounds the uses waiting to be written: past it a use is not
// recorded until the next flush makes room, and the next request with the
// token records it again.
const maxPending = 1 << 16

// Writer queues each token's use at most once per interval, however many
// requests carry it, and writes the queue every second (or every interval,
// if shorter) with write.
type Writer[T any] struct {
	interval time.Duration
	every    time.Duration
	timeout  time.Duration
	now      func() time.Time
	write    func(ctx context.Context, uses []T) (failedIDs []string)

	// queued maps a token ID to when its use was last queued. Requests
	// read it without a lock: a token in use is checked on every request.
	queued sync.Map

	mu      sync.Mutex
	pending map[string]T // token ID -> latest use not yet written
	running bool         // the flusher goroutine runs
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

// New returns a Writer that queues a token's use once per interval and
// writes batches with write, each bounded by timeout (none if not
// positive). write returns the IDs of the uses it failed to write: their
// tokens are queued again by their next use.
func New[T any](interval, timeout time.Duration, now func() time.Time, write func(context.Context, []T) []string) *Writer[T] {
	return &Writer[T]{
		interval: interval, every: min(time.Second, interval), timeout: timeout, now: now, write: write,
		pending: make(map[string]T), wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
}

// Record queues use, the use of token id at time at, unless one was queued
// within the interval.
func (w *Writer[T]) Record(id string, at time.Time, use T) {
	if last, ok := w.queued.Load(id); ok && at.Sub(last.(time.Time)) < w.interval {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.queued.Load(id); ok && at.Sub(last.(time.Time)) < w.interval {
		return // queued by a concurrent request
	}
	if w.closed || len(w.pending) >= maxPending {
		return
	}
	w.queued.Store(id, at)
	w.pending[id] = use
	if !w.running {
		w.running = true
		go w.run()
	}
}

// run flushes the queue every w.every until Close.
func (w *Writer[T]) run() {
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

// Flush writes every pending use now.
func (w *Writer[T]) Flush() {
	w.mu.Lock()
	uses := make([]T, 0, len(w.pending))
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
	for _, id := range w.write(ctx, uses) {
		w.queued.Delete(id)
	}
}

// Close writes what is pending and stops the flusher; later uses are not
// recorded.
func (w *Writer[T]) Close() {
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
