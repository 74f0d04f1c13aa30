package failurelog_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/failurelog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// line is one record written, with its attributes by key.
type line struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// recorder is a slog.Handler that keeps every record, at every level.
type recorder struct {
	mu    sync.Mutex
	lines []line
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	l := line{level: rec.Level, msg: rec.Message, attrs: map[string]slog.Value{}}
	rec.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, l)
	return nil
}

// at returns the lines written at level.
func (r *recorder) at(level slog.Level) []line {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []line
	for _, l := range r.lines {
		if l.level == level {
			out = append(out, l)
		}
	}
	return out
}

func newLog() (*failurelog.Log, *recorder) {
	r := &recorder{}
	return failurelog.New(slog.New(r), "tokenauth: store failure"), r
}

var errOutage = errors.New("dial tcp 10.0.0.7:5432: connection refused")

// A burst of failures, even from many goroutines at once, writes one line.
func TestBurstWritesOneLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := newLog()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { l.Failure(context.Background(), slog.LevelError, "find", errOutage) })
		}
		wg.Wait()
		lines := r.at(slog.LevelError)
		require.Len(t, lines, 1)
		assert.Equal(t, "find", lines[0].attrs["op"].String())
		assert.Equal(t, errOutage.Error(), lines[0].attrs["error"].String())
		assert.NotContains(t, lines[0].attrs, "suppressed", "nothing held back before the first line")
		assert.Len(t, r.lines, 1, "and nothing at other levels")
	})
}

// The next line after the window says how many were held back, and the
// count starts again after it.
func TestSuppressedCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := newLog()
		ctx := context.Background()
		for range 100 {
			l.Failure(ctx, slog.LevelError, "find", errOutage)
		}
		time.Sleep(999 * time.Millisecond)
		l.Failure(ctx, slog.LevelError, "find", errOutage)
		require.Len(t, r.at(slog.LevelError), 1, "still within the second")

		time.Sleep(time.Millisecond)
		l.Failure(ctx, slog.LevelError, "load user", errOutage)
		lines := r.at(slog.LevelError)
		require.Len(t, lines, 2)
		assert.Equal(t, "load user", lines[1].attrs["op"].String())
		assert.Equal(t, int64(100), lines[1].attrs["suppressed"].Int64(), "99 of the burst and one within the second")

		time.Sleep(time.Second)
		l.Failure(ctx, slog.LevelError, "find", errOutage)
		lines = r.at(slog.LevelError)
		require.Len(t, lines, 3)
		assert.NotContains(t, lines[2].attrs, "suppressed", "none held back since the last line")
	})
}

// budgets are the levels with a budget each.
var budgets = []struct {
	name  string
	level slog.Level
}{
	{"error", slog.LevelError},
	{"warning", slog.LevelWarn},
}

// Warnings (failed bookkeeping) have their own budget: one never hides
// the first error of an outage, nor counts among its suppressed lines.
func TestWarningsHaveTheirOwnBudget(t *testing.T) {
	for _, c := range budgets {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, r := newLog()
				ctx := context.Background()
				// c.level fails first, then the other level.
				other := slog.LevelError + slog.LevelWarn - c.level
				for range 5 {
					l.Failure(ctx, c.level, "first", errOutage)
				}
				for range 3 {
					l.Failure(ctx, other, "other", errOutage)
				}
				require.Len(t, r.at(c.level), 1)
				require.Len(t, r.at(other), 1)
				assert.Equal(t, "other", r.at(other)[0].attrs["op"].String())

				time.Sleep(time.Second)
				l.Failure(ctx, slog.LevelWarn, "touch", errOutage)
				l.Failure(ctx, slog.LevelError, "find", errOutage)
				counts := map[slog.Level]int64{c.level: 4, other: 2}
				for _, level := range []slog.Level{slog.LevelWarn, slog.LevelError} {
					lines := r.at(level)
					require.Len(t, lines, 2, "level %s", level)
					assert.Equal(t, counts[level], lines[1].attrs["suppressed"].Int64(), "level %s", level)
				}
			})
		})
	}
}

// Levels below warning share the warnings' budget; they are not errors.
func TestInfoSharesWarningBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := newLog()
		ctx := context.Background()
		l.Failure(ctx, slog.LevelInfo, "info", errOutage)
		l.Failure(ctx, slog.LevelWarn, "warn", errOutage)
		l.Failure(ctx, slog.LevelError, "error", errOutage)
		assert.Len(t, r.at(slog.LevelInfo), 1)
		assert.Empty(t, r.at(slog.LevelWarn), "within the second of the info line")
		assert.Len(t, r.at(slog.LevelError), 1)
	})
}

// A call whose client hung up is logged at debug level only, every time,
// and neither uses up the budget nor counts as held back.
func TestHangUpAtDebug(t *testing.T) {
	for _, c := range budgets {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, r := newLog()
				gone, cancel := context.WithCancel(context.Background())
				cancel()
				for range 10 {
					l.Failure(gone, c.level, "find", context.Canceled)
				}
				debug := r.at(slog.LevelDebug)
				require.Len(t, debug, 10)
				assert.Equal(t, "find", debug[0].attrs["op"].String())
				assert.Equal(t, context.Canceled.Error(), debug[0].attrs["error"].String())
				assert.Len(t, r.lines, 10, "nothing above debug")

				l.Failure(context.Background(), c.level, "find", errOutage)
				lines := r.at(c.level)
				require.Len(t, lines, 1, "the budget is intact")
				assert.NotContains(t, lines[0].attrs, "suppressed")
			})
		})
	}
}

// The attributes are the op and the error text only: the error is the
// caller's to mask, and nothing else from the context is added.
func TestAttrs(t *testing.T) {
	l, r := newLog()
	l.Failure(context.Background(), slog.LevelError, "issue", errOutage)
	require.Len(t, r.lines, 1)
	assert.Equal(t, "tokenauth: store failure", r.lines[0].msg)
	attrs := map[string]string{}
	for k, v := range r.lines[0].attrs {
		attrs[k] = v.String()
	}
	assert.Equal(t, map[string]string{"op": "issue", "error": errOutage.Error()}, attrs)
}

// Two logs keep separate budgets.
func TestLogsAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, ra := newLog()
		b, rb := newLog()
		a.Failure(context.Background(), slog.LevelError, "find", errOutage)
		b.Failure(context.Background(), slog.LevelError, "find", errOutage)
		assert.Len(t, ra.lines, 1)
		assert.Len(t, rb.lines, 1)
	})
}
