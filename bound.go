package tokenauth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// boundedCtx is ctx limited by StoreTimeout, for one store or loader call.
// Unlike context.WithTimeout it starts no timer until a callee asks for
// Done: a store that answers from memory (memstore, a cache hit) never
// does, so the bound costs it nothing, while a store that waits on the
// network gets a real deadline. The middleware keeps one inside its
// request context, so that it needs no allocation of its own.
type boundedCtx struct {
	context.Context
	deadline time.Time // zero: no bound

	once    sync.Once
	started atomic.Bool // inner is set
	inner   context.Context
	cancel  context.CancelFunc
}

// bind sets b up to bound parent by timeout (none if not positive).
func (b *boundedCtx) bind(parent context.Context, timeout time.Duration) *boundedCtx {
	b.Context = parent
	if timeout > 0 {
		b.deadline = time.Now().Add(timeout)
	}
	return b
}

func (b *boundedCtx) start() {
	if b.deadline.IsZero() {
		b.inner, b.cancel = b.Context, func() {}
	} else {
		b.inner, b.cancel = context.WithDeadline(b.Context, b.deadline)
	}
	b.started.Store(true)
}

func (b *boundedCtx) Deadline() (time.Time, bool) {
	if d, ok := b.Context.Deadline(); ok && (b.deadline.IsZero() || d.Before(b.deadline)) {
		return d, true
	}
	return b.deadline, !b.deadline.IsZero()
}

func (b *boundedCtx) Done() <-chan struct{} {
	b.once.Do(b.start)
	return b.inner.Done()
}

// Err answers without starting a timer, for stores that check Err but
// never wait on Done.
func (b *boundedCtx) Err() error {
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

// release stops the timer, if one was started. A callee that kept b sees
// it canceled.
func (b *boundedCtx) release() {
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

// bound returns ctx limited by StoreTimeout and the function that releases
// it.
func (a *Authenticator) bound(ctx context.Context) (context.Context, func()) {
	b := new(boundedCtx).bind(ctx, a.opts.StoreTimeout)
	return b, b.release
}
