// Package deadline bounds a call with a timeout that costs nothing until
// the callee waits.
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a parent context limited by a timeout, for one call. Unlike
// context.WithTimeout it starts no timer until the callee asks for Done: a
// callee that answers from memory never does, so the bound costs it
// nothing, while one that waits on the network gets a real deadline. Its
// zero value is ready for Bind, so a caller can keep one inside a larger
// allocation.
type Context struct {
	context.Context
	deadline time.Time // zero: no bound

	once    sync.Once
	started atomic.Bool // inner is set
	inner   context.Context
	cancel  context.CancelFunc
}

// Bind sets b up to bound parent by timeout (none if not positive).
func (b *Context) Bind(parent context.Context, timeout time.Duration) *Context {
	b.Context = parent
	if timeout > 0 {
		b.deadline = time.Now().Add(timeout)
	}
	return b
}

func (b *Context) start() {
	if b.deadline.IsZero() {
		// No timer, but Release must still end what a callee kept.
		b.inner, b.cancel = context.WithCancel(b.Context)
	} else {
		b.inner, b.cancel = context.WithDeadline(b.Context, b.deadline)
	}
	b.started.Store(true)
}

func (b *Context) Deadline() (time.Time, bool) {
	if d, ok := b.Context.Deadline(); ok && (b.deadline.IsZero() || d.Before(b.deadline)) {
		return d, true
	}
	return b.deadline, !b.deadline.IsZero()
}

func (b *Context) Done() <-chan struct{} {
	b.once.Do(b.start)
	return b.inner.Done()
}

// Err answers without starting a timer, for stores that check Err but
// never wait on Done.
func (b *Context) Err() error {
	if b.started.Load() {
		return b.inner.Err()
	}
	if err := b.Context.Err(); err != nil {
		return err
	}
	if !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Release stops the timer, if one was started. A callee that kept b sees
// it canceled.
func (b *Context) Release() {
	b.once.Do(func() {
		b.inner, b.cancel = canceled, func() {}
		b.started.Store(true)
	})
	b.cancel()
}

// canceled is a context that has ended, for calls made with a bounded
// context after it was released.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
