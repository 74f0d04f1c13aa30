package usequeue

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// use is what the tests queue: the token and when it was used.
type use struct {
	id string
	at time.Time
}

// sink records the batches written and fails the IDs it is told to.
type sink struct {
	mu      sync.Mutex
	batches [][]use
	fail    map[string]bool
	ctxs    []context.Context
}

func (s *sink) write(ctx context.Context, uses []use) (failed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, uses)
	s.ctxs = append(s.ctxs, ctx)
	for _, u := range uses {
		if s.fail[u.id] {
			failed = append(failed, u.id)
		}
	}
	return failed
}

// written returns the IDs written, batch by batch.
func (s *sink) written() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.batches))
	for i, b := range s.batches {
		for _, u := range b {
			out[i] = append(out[i], u.id)
		}
	}
	return out
}

func (s *sink) setFail(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = map[string]bool{}
	for _, id := range ids {
		s.fail[id] = true
	}
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newWriter returns a Writer over a new sink, on the clock of the bubble
// it runs in.
func newWriter(interval time.Duration) (*Writer[use], *sink) {
	s := &sink{}
	return New(interval, 0, time.Now, s.write), s
}

func (w *Writer[T]) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

func (w *Writer[T]) claims() int {
	n := 0
	w.queued.Range(func(any, any) bool { n++; return true })
	return n
}

func record(w *Writer[use], id string, at time.Time) { w.Record(id, at, use{id, at}) }

// A token's use is queued at most once per interval, flushed or not.
func TestOncePerInterval(t *testing.T) {
	cases := []struct {
		name   string
		second time.Duration // after the first use
		flush  bool          // flush between the uses
		want   [][]string
	}{
		{"same instant", 0, false, [][]string{{"a"}}},
		{"within the interval", 59 * time.Second, false, [][]string{{"a"}}},
		{"within the interval, after a flush", 59 * time.Second, true, [][]string{{"a"}}},
		{"at the interval, pending", time.Minute, false, [][]string{{"a"}}},
		{"at the interval, after a flush", time.Minute, true, [][]string{{"a"}, {"a"}}},
		{"a clock that went back", -time.Hour, true, [][]string{{"a"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, s := newWriter(time.Minute)
				defer w.Close()
				record(w, "a", t0)
				if c.flush {
					w.Flush()
				}
				record(w, "a", t0.Add(c.second))
				w.Flush()
				assert.Equal(t, c.want, s.written())
			})
		})
	}
}

// The first use within the interval is the one written: later ones in
// the same interval are not worth a write.
func TestFirstUseKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		record(w, "a", t0)
		record(w, "a", t0.Add(time.Second))
		w.Flush()
		require.Len(t, s.batches, 1)
		assert.Equal(t, []use{{"a", t0}}, s.batches[0])
	})
}

func TestConcurrentRecordQueuesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { record(w, "a", t0.Add(time.Duration(i)*time.Millisecond)) })
		}
		wg.Wait()
		assert.Equal(t, 1, w.pendingLen())
		w.Flush()
		assert.Equal(t, [][]string{{"a"}}, s.written())
	})
}

func TestFlushWritesAllAndClears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		for _, id := range []string{"a", "b", "c"} {
			record(w, id, t0)
		}
		w.Flush()
		require.Len(t, s.written(), 1, "one batch")
		assert.ElementsMatch(t, []string{"a", "b", "c"}, s.written()[0])
		assert.Zero(t, w.pendingLen())

		w.Flush()
		assert.Len(t, s.written(), 1, "an empty queue writes nothing")
	})
}

// write gets a context bounded by the timeout, or none.
func TestFlushTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, timeout := range []time.Duration{0, time.Second} {
			s := &sink{}
			w := New(time.Minute, timeout, time.Now, s.write)
			record(w, "a", time.Now())
			w.Flush()
			w.Close()
			require.Len(t, s.ctxs, 1)
			d, ok := s.ctxs[0].Deadline()
			assert.Equal(t, timeout > 0, ok, "timeout %s", timeout)
			if ok {
				assert.WithinDuration(t, time.Now().Add(timeout), d, timeout)
				assert.ErrorIs(t, s.ctxs[0].Err(), context.Canceled, "released after the write")
			}
		}
	})
}

// A use that failed to be written is queued again by the token's next
// use, without waiting out the interval; the others are not.
func TestFailedIDsRequeued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		s.setFail("b")
		record(w, "a", t0)
		record(w, "b", t0)
		w.Flush()
		assert.Zero(t, w.pendingLen())

		s.setFail()
		record(w, "a", t0.Add(time.Second))
		record(w, "b", t0.Add(time.Second))
		w.Flush()
		got := s.written()
		require.Len(t, got, 2)
		assert.Equal(t, []string{"b"}, got[1])
		assert.Equal(t, []use{{"b", t0.Add(time.Second)}}, s.batches[1])
	})
}

func TestCloseFlushesThenDrops(t *testing.T) {
	cases := []struct {
		name    string
		running bool // a Record started the flusher
	}{
		{"flusher running", true},
		{"nothing recorded", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, s := newWriter(time.Minute)
				if c.running {
					record(w, "a", t0)
				}
				w.Close()
				want := [][]string{}
				if c.running {
					want = [][]string{{"a"}}
				}
				assert.Equal(t, want, s.written(), "Close wrote what was pending")
				record(w, "b", t0)
				assert.Zero(t, w.pendingLen(), "uses after Close are not recorded")
				w.Flush()
				assert.NotPanics(t, w.Close, "Close twice")
				assert.Equal(t, want, s.written(), "nothing written after Close")
			})
		})
	}
}

// The flusher writes every second, or every interval if shorter, without
// anyone calling Flush; the bubble's fake clock makes it exact.
func TestBackgroundFlush(t *testing.T) {
	cases := []struct {
		interval, every time.Duration
	}{
		{time.Minute, time.Second},
		{time.Second, time.Second},
		{200 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.interval.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &sink{}
				w := New(c.interval, 0, time.Now, s.write)
				defer w.Close()
				record(w, "a", time.Now())

				time.Sleep(c.every - time.Millisecond)
				synctest.Wait()
				assert.Empty(t, s.written(), "not before the period")
				time.Sleep(time.Millisecond)
				synctest.Wait()
				assert.Equal(t, [][]string{{"a"}}, s.written(), "written after one period")

				record(w, "b", time.Now())
				time.Sleep(c.every)
				synctest.Wait()
				assert.Equal(t, [][]string{{"a"}, {"b"}}, s.written(), "and every period after")

				time.Sleep(10 * c.every)
				synctest.Wait()
				assert.Len(t, s.written(), 2, "an empty queue writes nothing")
			})
		})
	}
}

// Close stops the flusher: no goroutine outlives it (the bubble would
// report one still blocked), and nothing is written after.
func TestCloseStopsFlusher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		w := New(time.Minute, 0, time.Now, s.write)
		record(w, "a", time.Now())
		w.Close()
		assert.Equal(t, [][]string{{"a"}}, s.written())
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Len(t, s.written(), 1)
	})
}

// Past maxPending a use is dropped, not queued nor claimed, so the
// token's next use after a flush queues it.
func TestMaxPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		for i := range maxPending + 10 {
			record(w, fmt.Sprint(i), t0)
		}
		assert.Equal(t, maxPending, w.pendingLen())
		over := fmt.Sprint(maxPending + 5)
		w.Flush()
		require.Len(t, s.written(), 1)
		assert.Len(t, s.written()[0], maxPending)
		assert.NotContains(t, s.written()[0], over)

		record(w, over, t0.Add(time.Second))
		w.Flush()
		assert.Equal(t, []string{over}, s.written()[1])
	})
}

// Flush forgets claims older than the interval, so the claims held stay
// bounded by the tokens used within one interval.
func TestFlushForgetsOldClaims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := newWriter(time.Minute)
		defer w.Close()
		start := time.Now()
		record(w, "old", start)
		record(w, "new", start.Add(30*time.Second))
		time.Sleep(time.Minute)
		w.Flush()
		assert.Equal(t, 1, w.claims(), "only the claim within the interval is kept")
		time.Sleep(time.Minute)
		w.Flush()
		assert.Zero(t, w.claims())
	})
}

// A slow write holds up no Record: the queue is unlocked while writing.
// This runs outside a bubble, where a Record stuck on a lock would not
// let the fake clock reach the test's timeout.
func TestRecordDuringWrite(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := &sink{}
	w := New(time.Hour, 0, time.Now, func(ctx context.Context, uses []use) []string {
		once.Do(func() {
			close(entered)
			<-release
		})
		return s.write(ctx, uses)
	})
	record(w, "a", t0)
	go w.Flush()
	<-entered
	recorded := make(chan struct{})
	go func() {
		record(w, "b", t0)
		close(recorded)
	}()
	select {
	case <-recorded:
	case <-time.After(5 * time.Second):
		t.Fatal("Record waited for the write")
	}
	close(release)
	w.Close() // writes b; the first Flush may still be finishing a
	assert.Eventually(t, func() bool {
		var ids []string
		for _, b := range s.written() {
			ids = append(ids, b...)
		}
		return assert.ObjectsAreEqual([]string{"a", "b"}, sortedCopy(ids))
	}, 5*time.Second, time.Millisecond)
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
