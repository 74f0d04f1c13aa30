// Package deadline bounds a call with a timeout that costs nothing until
// the callee waits. It is the one way tokenauth bounds a store call
// (Options.StoreTimeout) and login bounds its own (login.Options.Timeout).
//
// Kept by the A/B of e2e/bench/README.md: context.WithTimeout in its place
// costs BenchmarkMiddleware 4 allocations and 435 to 555 ns/op more (1109
// at -cpu 16), and the load harness's memstore server 7 to 12 % of its
// req/s and 12 to 18 % more CPU per request.
package deadline

import (
	"context"
	"sync/atomic"
	"time"
)

// Context is a parent context limited by a timeout, for one call. Unlike
// context.WithTimeout it starts no timer until the callee asks for Done: a
// callee that answers from memory never does, so the bound costs it
// nothing, while one that waits on the network gets a real deadline. Its
// zero value is ready for Bind, so a caller can keep one inside a larger
// allocation; it is kept small (48 bytes) for that reason.
type Context struct {
	context.Context
	deadline time.Time // zero: no bound

	// timer is nil until Done or Release: then the context that carries
	// the timer (or has ended, after Release).
	timer atomic.Pointer[timed]
}

type timed struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// ended is what Release leaves behind when no timer was started: a context
// that has ended, for calls made with a bounded context after it was
// released.
var ended = func() *timed {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return &timed{ctx, cancel}
}()

// Bind sets b up to bound parent by timeout from now (none if timeout is
// not positive).
func (b *Context) Bind(parent context.Context, timeout time.Duration) *Context {
	b.Context = parent
	if timeout > 0 {
		b.deadline = time.Now().Add(timeout)
	}
	return b
}

// start returns the timed context, creating it on first use. Two callers
// racing both create one; the loser cancels its own.
func (b *Context) start() *timed {
	if t := b.timer.Load(); t != nil {
		return t
	}
	t := new(timed)
	if b.deadline.IsZero() {
		// No timer, but Release must still end what a callee kept.
		t.ctx, t.cancel = context.WithCancel(b.Context)
	} else {
		t.ctx, t.cancel = context.WithDeadline(b.Context, b.deadline)
	}
	if !b.timer.CompareAndSwap(nil, t) {
		t.cancel()
		return b.timer.Load()
	}
	return t
}

func (b *Context) Deadline() (time.Time, bool) {
	if d, ok := b.Context.Deadline(); ok && (b.deadline.IsZero() || d.Before(b.deadline)) {
		return d, true
	}
	return b.deadline, !b.deadline.IsZero()
}

func (b *Context) Done() <-chan struct{} {
	return b.start().ctx.Done()
}

// Err answers without starting a timer, for stores that check Err but
// never wait on Done. It reads only the monotonic clock (time.Until),
// half the cost of time.Now.
func (b *Context) Err() error {
	if t := b.timer.Load(); t != nil {
		return t.ctx.Err()
	}
	if err := b.Context.Err(); err != nil {
		return err
	}
	if !b.deadline.IsZero() && time.Until(b.deadline) <= 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// Release stops the timer, if one was started. A callee that kept b sees
// it canceled.
func (b *Context) Release() {
	if b.timer.CompareAndSwap(nil, ended) {
		return
	}
	b.timer.Load().cancel()
}
