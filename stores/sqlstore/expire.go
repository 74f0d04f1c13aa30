package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Expire implements tokenauth.Expirer with one UPDATE: expires_at and
// max_expires_at become at where they are later or NULL (never), and stay
// where they are earlier. When either moves, the revocation trigger tells
// every watcher. It returns tokenauth.ErrNotFound if the token is gone.
func (s *Store) Expire(ctx context.Context, id string, at time.Time) error {
	// The zero time would end the token at once, as memstore and
	// redisstore refuse to.
	if at.IsZero() {
		return errors.New("sqlstore: expire: needs a non-zero time")
	}
	v := s.at(at)
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: expire: %w", err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, s.q.expire, v, v, v, v, id)
	if err != nil {
		return fmt.Errorf("sqlstore: expire: %w", err)
	}
	return s.updated(ctx, "expire", res, id)
}
