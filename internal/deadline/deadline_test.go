package deadline

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closed reports whether ch has been closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A callee that only checks Err gets the bound without a timer: Err
// turns to DeadlineExceeded at the deadline although Done was never
// asked for.
func TestErrWithoutDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := new(Context).Bind(context.Background(), time.Second)
		assert.NoError(t, b.Err())

		time.Sleep(999 * time.Millisecond)
		assert.NoError(t, b.Err(), "just before the deadline")

		time.Sleep(time.Millisecond)
		assert.ErrorIs(t, b.Err(), context.DeadlineExceeded, "at the deadline")
		assert.Nil(t, b.timer.Load(), "Err started no timer")
		b.Release()
	})
}

func TestDoneClosesAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := new(Context).Bind(context.Background(), time.Second)
		done := b.Done()
		assert.True(t, done == b.Done(), "one channel however often Done is asked")

		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.False(t, closed(done), "open before the deadline")
		assert.NoError(t, b.Err())

		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.True(t, closed(done), "closed at the deadline")
		assert.ErrorIs(t, b.Err(), context.DeadlineExceeded)
		b.Release()
	})
}

// Done asked for after the deadline passed is closed at once.
func TestDoneAfterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := new(Context).Bind(context.Background(), time.Second)
		time.Sleep(2 * time.Second)
		assert.True(t, closed(b.Done()))
		assert.ErrorIs(t, b.Err(), context.DeadlineExceeded)
		b.Release()
		assert.ErrorIs(t, b.Err(), context.DeadlineExceeded, "Release keeps the first cause")
	})
}

// endCases are the ways a context can be when it ends: bounded or not,
// with a callee already waiting on Done or not.
var endCases = []struct {
	name    string
	timeout time.Duration
	done    bool // ask for Done before the context ends
}{
	{"bounded, Done before", time.Hour, true},
	{"bounded, Done after", time.Hour, false},
	{"unbounded, Done before", 0, true},
	{"unbounded, Done after", 0, false},
}

func TestParentCancelPropagates(t *testing.T) {
	for _, c := range endCases {
		t.Run(c.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.Background())
			b := new(Context).Bind(parent, c.timeout)
			defer b.Release()
			var done <-chan struct{}
			if c.done {
				done = b.Done()
				assert.False(t, closed(done))
			}
			assert.NoError(t, b.Err())

			cancel()
			assert.ErrorIs(t, b.Err(), context.Canceled)
			if !c.done {
				done = b.Done()
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed after the parent was canceled")
			}
			assert.ErrorIs(t, b.Err(), context.Canceled)
		})
	}
}

// The parent's deadline wins when it is the earlier one, in Err as in
// Deadline.
func TestParentDeadlineEndsErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		b := new(Context).Bind(parent, time.Hour)
		time.Sleep(time.Second)
		synctest.Wait() // the parent's timer has fired
		assert.ErrorIs(t, b.Err(), context.DeadlineExceeded)
		assert.True(t, closed(b.Done()))
		b.Release()
	})
}

func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		cases := []struct {
			name    string
			parent  time.Duration // 0: no deadline
			timeout time.Duration
			want    time.Duration // 0: no deadline
		}{
			{"neither", 0, 0, 0},
			{"own only", 0, time.Second, time.Second},
			{"parent only", time.Minute, 0, time.Minute},
			{"parent earlier", time.Second, time.Minute, time.Second},
			{"own earlier", time.Minute, time.Second, time.Second},
			{"equal", time.Second, time.Second, time.Second},
			{"negative timeout is none", time.Minute, -time.Second, time.Minute},
		}
		for _, c := range cases {
			parent := context.Background()
			if c.parent > 0 {
				var cancel context.CancelFunc
				parent, cancel = context.WithDeadline(parent, now.Add(c.parent))
				defer cancel()
			}
			b := new(Context).Bind(parent, c.timeout)
			d, ok := b.Deadline()
			if c.want == 0 {
				assert.False(t, ok, c.name)
				assert.True(t, d.IsZero(), c.name)
			} else {
				assert.True(t, ok, c.name)
				assert.Equal(t, now.Add(c.want), d, c.name)
			}
			b.Release()
		}
	})
}

// A timeout that is not positive bounds nothing: only the parent ends
// the context.
func TestNoTimeoutNoDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, timeout := range []time.Duration{0, -time.Second} {
			b := new(Context).Bind(context.Background(), timeout)
			done := b.Done()
			time.Sleep(24 * time.Hour)
			synctest.Wait()
			assert.False(t, closed(done), "timeout %s", timeout)
			assert.NoError(t, b.Err(), "timeout %s", timeout)
			b.Release()
		}
	})
}

func TestValueFromParent(t *testing.T) {
	type key struct{}
	b := new(Context).Bind(context.WithValue(context.Background(), key{}, "v"), time.Second)
	defer b.Release()
	assert.Equal(t, "v", b.Value(key{}))
}

// A callee that kept the context past its call sees it canceled, whether
// or not it had asked for Done, and with or without a timeout.
func TestRelease(t *testing.T) {
	for _, c := range endCases {
		t.Run(c.name, func(t *testing.T) {
			b := new(Context).Bind(context.Background(), c.timeout)
			if c.done {
				require.False(t, closed(b.Done()))
			}
			b.Release()
			assert.True(t, closed(b.Done()), "Done closed after Release")
			assert.ErrorIs(t, b.Err(), context.Canceled)
			assert.NotPanics(t, b.Release, "Release twice")
			assert.True(t, closed(b.Done()))
		})
	}
}

// Release of a context that was never bound (a bound the caller did not
// need) does not panic.
func TestReleaseUnbound(t *testing.T) {
	var b Context
	assert.NotPanics(t, b.Release)
	assert.True(t, closed(b.Done()))
}

func TestConcurrentUse(t *testing.T) {
	for range 20 {
		parent, cancel := context.WithCancel(context.Background())
		b := new(Context).Bind(parent, time.Millisecond)
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				switch i % 5 {
				case 0:
					<-b.Done()
					assert.Error(t, b.Err())
				case 1:
					for b.Err() == nil {
						time.Sleep(50 * time.Microsecond)
					}
				case 2:
					_, ok := b.Deadline()
					assert.True(t, ok)
				case 3:
					b.Release()
				case 4:
					cancel()
				}
			})
		}
		wg.Wait()
		assert.True(t, closed(b.Done()))
		assert.Error(t, b.Err())
		cancel()
	}
}

// Its size is what a caller embedding two of them pays on every request.
func TestSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Context{}), uintptr(48))
}
