package tokenauth

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// touch records a use of t, to be written in the background, if the last
// recorded one is older than the touch interval. With IdleTimeout the use
// slides ExpiresAt forward, never past MaxExpiresAt.
func (a *Authenticator) touch(t *Token, now time.Time) {
	if a.opts.TouchInterval < 0 || now.Sub(t.LastUsedAt) < a.opts.TouchInterval {
		return
	}
	use := TokenUse{ID: t.ID, LastUsed: now.UTC().Truncate(time.Microsecond)}
	if a.opts.IdleTimeout > 0 && !t.ExpiresAt.IsZero() {
		use.ExpiresAt = a.slide(now, t.MaxExpiresAt)
	}
	a.uses.Record(t.ID, now, use)
}

// writeUses writes a batch of uses, in one call where the store is a
// BatchToucher, and returns the IDs of those it failed to write. A token
// revoked meanwhile is skipped.
func (a *Authenticator) writeUses(ctx context.Context, uses []TokenUse) (failed []string) {
	if b, ok := a.store.(BatchToucher); ok {
		if err := b.TouchBatch(ctx, uses); err != nil {
			a.log.Failure(ctx, slog.LevelWarn, "record token uses", err)
			for _, u := range uses {
				failed = append(failed, u.ID)
			}
		}
		return failed
	}
	for _, u := range uses {
		err := a.store.Touch(ctx, u.ID, u.LastUsed, u.ExpiresAt)
		if err != nil && !errors.Is(err, ErrNotFound) {
			a.log.Failure(ctx, slog.LevelWarn, "record token use", err)
			failed = append(failed, u.ID)
		}
	}
	return failed
}

// Close writes the token uses not yet written. Call it when the service
// shuts down, after http.Server.Shutdown, so that no last-used time or
// sliding expiry is lost; uses recorded after Close are not written.
func (a *Authenticator) Close() error {
	a.uses.Close()
	return nil
}
