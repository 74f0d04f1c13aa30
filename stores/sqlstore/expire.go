package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Expire implements tokenauth.Store with one UPDATE: expires_at and
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
	var res sql.Result
	err = s.retry(func() (err error) { // as deleteWhere does
		res, err = s.db.ExecContext(ctx, s.q.expire, v, v, v, v, id)
		return err
	})
	unlock()
	if err != nil {
		return fmt.Errorf("sqlstore: expire: %w", err)
	}
	if err := s.updated(ctx, "expire", res, id); err != nil {
		return err
	}
	s.maybePrune(ctx)
	return nil
}

// updated turns the result of an UPDATE of the token with the given ID
// into nil or ErrNotFound. MySQL reports the rows an UPDATE changed rather
// than those it matched, so there an UPDATE that changed nothing is
// followed by a primary-key lookup that tells it from a missing token.
func (s *Store) updated(ctx context.Context, op string, res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n > 0 {
		return nil
	}
	if s.dialect != MySQL {
		return tokenauth.ErrNotFound
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.q.exists, id).Scan(&one)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return tokenauth.ErrNotFound
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
