package tokenauth

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sink records the batches written, and fails them when told to.
type sink struct {
	mu      sync.Mutex
	batches [][]TokenUse
	fail    bool
}

func (s *sink) write(uses []TokenUse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, uses)
	if s.fail {
		return errors.New("store down")
	}
	return nil
}

// written returns the IDs written, batch by batch.
func (s *sink) written() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.batches))
	for i, b := range s.batches {
		for _, u := range b {
			out[i] = append(out[i], u.ID)
		}
	}
	return out
}

func (s *sink) setFail(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newWriter returns a useWriter over a new sink, on the clock of the
// bubble it runs in.
func newWriter(interval time.Duration) (*useWriter, *sink) {
	s := &sink{}
	return newUseWriter(interval, time.Now, s.write), s
}

func (w *useWriter) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

func (w *useWriter) claims() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queued)
}

func record(w *useWriter, id string, at time.Time) { w.Record(at, TokenUse{ID: id, LastUsed: at}) }

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
		assert.Equal(t, []TokenUse{{ID: "a", LastUsed: t0}}, s.batches[0])
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

// The uses of a batch that failed to be written are queued again by
// their tokens' next use, without waiting out the interval.
func TestFailedUsesRequeued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		s.setFail(true)
		record(w, "a", t0)
		record(w, "b", t0)
		w.Flush()
		assert.Zero(t, w.pendingLen())
		assert.Zero(t, w.claims())

		s.setFail(false)
		record(w, "a", t0.Add(time.Second))
		w.Flush()
		record(w, "a", t0.Add(2*time.Second))
		w.Flush()
		got := s.written()
		require.Len(t, got, 2, "written again once, then claimed for the interval")
		assert.Equal(t, []TokenUse{{ID: "a", LastUsed: t0.Add(time.Second)}}, s.batches[1])
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
				w := newUseWriter(c.interval, time.Now, s.write)
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
		w := newUseWriter(time.Minute, time.Now, s.write)
		record(w, "a", time.Now())
		w.Close()
		assert.Equal(t, [][]string{{"a"}}, s.written())
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Len(t, s.written(), 1)
	})
}

// Past maxPendingUses a use is dropped, not queued nor claimed, so the
// token's next use after a flush queues it.
func TestMaxPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, s := newWriter(time.Minute)
		defer w.Close()
		for i := range maxPendingUses + 10 {
			record(w, fmt.Sprint(i), t0)
		}
		assert.Equal(t, maxPendingUses, w.pendingLen())
		over := fmt.Sprint(maxPendingUses + 5)
		w.Flush()
		require.Len(t, s.written(), 1)
		assert.Len(t, s.written()[0], maxPendingUses)
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
	w := newUseWriter(time.Hour, time.Now, func(uses []TokenUse) error {
		once.Do(func() {
			close(entered)
			<-release
		})
		return s.write(uses)
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
