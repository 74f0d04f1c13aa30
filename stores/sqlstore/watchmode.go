package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// How Watch hears of revocations, as WatchMode reports it.
const (
	// WatchListen: PostgreSQL pushes each revocation through LISTEN and
	// NOTIFY (Options.Listener), within milliseconds of its commit.
	WatchListen = "listen"
	// WatchPoll: Watch reads the revocation log every
	// Options.PollInterval.
	WatchPoll = "poll"
)

// WatchMode returns how Watch hears of revocations: WatchListen on
// PostgreSQL with an Options.Listener, until LISTEN turns out not to
// deliver there; WatchPoll otherwise. Report it on a health endpoint or as
// a metric: a fall-back to polling, which Watch also logs once at WARN,
// raises the revocation lag from milliseconds to the poll interval.
func (s *Store) WatchMode() string {
	if s.dialect == Postgres && s.listener != nil && !s.listenFailed.Load() {
		return WatchListen
	}
	return WatchPoll
}

// listenOrPoll is Watch with the Listener; on an error wrapping
// errors.ErrUnsupported it polls instead, for good.
func (s *Store) listenOrPoll(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	var subscribed atomic.Bool
	err := s.listen(ctx, func() {
		subscribed.Store(true)
		alive()
	}, changed)
	if !errors.Is(err, errors.ErrUnsupported) || ctx.Err() != nil {
		return err
	}
	if s.listenFailed.CompareAndSwap(false, true) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "sqlstore: watch: LISTEN does not deliver notifications here; polling the revocation log instead",
			slog.String("table", s.table), slog.String("cause", err.Error()), slog.Duration("poll_interval", s.poll))
	}
	if subscribed.Load() {
		// The caller was told that revocations reach it, and some may
		// have been missed: it must subscribe again, and forget what it
		// holds. Not wrapped: the store can watch, by polling.
		return fmt.Errorf("LISTEN stopped delivering; watching by polling from the next subscription: %v", err)
	}
	return s.pollLog(ctx, alive, changed)
}
