package login

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// errorLog writes outage errors at ERROR level at most once a second,
// with the count of those held back since the last line, so that a long
// outage or a flood of logins during one cannot fill an operator's log.
type errorLog struct {
	logger *slog.Logger
	now    func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *errorLog) log(ctx context.Context, msg string, attrs ...slog.Attr) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		attrs = append(attrs, slog.Int("suppressed", n))
	}
	l.logger.LogAttrs(ctx, slog.LevelError, msg, attrs...)
}
