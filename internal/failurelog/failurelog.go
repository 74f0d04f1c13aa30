// Package failurelog logs the failures of a store: at most one line a
// second per level, with a count of those held back.
package failurelog

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Log writes store and loader failures. During an outage every
// request fails alike, so it writes at most one line a second and says how
// many it held back; a call whose client has hung up says nothing about
// the store and is logged at debug level, so that anyone closing
// connections early cannot fill an operator's error log.
type Log struct {
	logger *slog.Logger
	msg    string // the message of every line, saying whose failure it is
	// Errors and warnings (failed bookkeeping writes) have a budget each,
	// so that a warning never hides the first error of an outage.
	errors, warnings budget
}

// budget lets one line a second through and counts the others.
type budget struct {
	next       atomic.Int64 // UnixNano before which lines are held back
	suppressed atomic.Int64
}

// New returns a Log writing lines with message msg to logger.
func New(logger *slog.Logger, msg string) *Log {
	return &Log{logger: logger, msg: msg}
}

// Failure logs that op failed with err on behalf of ctx.
func (l *Log) Failure(ctx context.Context, level slog.Level, op string, err error) {
	// A canceled request is a client that went away; a deadline that
	// passed is a store too slow to answer, which the operator must see.
	if errors.Is(ctx.Err(), context.Canceled) {
		l.logger.LogAttrs(ctx, slog.LevelDebug, l.msg+" (call ended by the client)",
			slog.String("op", op), slog.String("error", err.Error()))
		return
	}
	b := &l.errors
	if level < slog.LevelError {
		b = &l.warnings
	}
	now := time.Now().UnixNano()
	next := b.next.Load()
	if now < next || !b.next.CompareAndSwap(next, now+int64(time.Second)) {
		b.suppressed.Add(1)
		return
	}
	attrs := []slog.Attr{slog.String("op", op), slog.String("error", err.Error())}
	if n := b.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("suppressed", n))
	}
	l.logger.LogAttrs(ctx, level, l.msg, attrs...)
}
