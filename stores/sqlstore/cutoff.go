package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Cut-offs make revocation final. DeleteUser leaves the time it was given
// in the <table>_cutoffs table, and Create refuses a token of that user
// created before it, so that a login whose password was checked before a
// password change cannot store its token after the change's DeleteUser.
//
// Neither side takes a lock or opens a transaction: each writes first and
// reads second, in separate autocommit statements.
//
//	Create:     (C1) INSERT the token       (C2) SELECT the user's cut-off
//	DeleteUser: (D1) upsert the cut-off     (D2) DELETE the user's tokens
//
// If C2 reads no cut-off later than the token's creation, D1 had not
// committed when C2 began; then D2 began after C2, so after C1 had
// committed, and D2 deletes the token. Otherwise Create deletes the row it
// wrote and returns ErrRevoked. Either way no token created before the
// cut-off outlives both calls. This needs each statement to see every
// transaction committed before it began, which holds for separate
// statements, not within one transaction:
//
//   - PostgreSQL, READ COMMITTED (its default): each statement takes a new
//     snapshot. Under REPEATABLE READ or SERIALIZABLE it holds as well,
//     since each statement is its own transaction here.
//   - MySQL and MariaDB, REPEATABLE READ (InnoDB's default): an autocommit
//     SELECT is a transaction of its own, whose read view is made when it
//     starts; a DELETE reads the latest committed rows (a locking read)
//     whatever the isolation level.
//   - SQLite: writers take turns on the database lock, and each
//     autocommit statement reads the latest committed state.
//
// A cut-off does not cover a token created after it: Rotate's, whose
// CreatedAt is the time it was made. Rotate stores the new token, then
// deletes the old one and undoes its work if the old one is gone, so D2
// must see the new token whenever Rotate's delete of the old one
// succeeded. MySQL's DELETE reads the latest committed rows, and SQLite
// runs one writer at a time, so there it does. PostgreSQL's READ
// COMMITTED DELETE does not: it reads the rows of its snapshot, and when
// it meets a row that Rotate is deleting, it waits, then skips the row,
// without seeing the token Rotate committed after the snapshot was taken.
// So on PostgreSQL D2 runs alone in a REPEATABLE READ transaction, where
// meeting a row changed since the snapshot is a serialization failure
// (SQLSTATE 40001), and is run again, with a new snapshot, until it
// deletes the user's tokens with no row changed under it.
//
// One statement could not do it: INSERT … SELECT … WHERE NOT EXISTS reads
// the cut-off in the snapshot the INSERT started with, and D2, in its own
// snapshot, cannot see the uncommitted row: both would miss each other.
//
// The row Create removes again was never handed out: the key is returned
// only when Create succeeds. Its deletion fires the revocation trigger,
// which tells watchers of a token none of them has cached.

// Create's part: C2, and the undo when refused.

// checkCutoff runs C2 for t, just inserted, and deletes t again if its
// user's cut-off is later than its creation, or if the look-up failed:
// an unchecked token must not stay.
func (s *Store) checkCutoff(ctx context.Context, t *tokenauth.Token) error {
	var one int
	err := s.db.QueryRowContext(ctx, s.q.cutoff, t.UserID, s.at(t.CreatedAt)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	// Even if ctx has ended: the row must go.
	undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	delErr := s.retry(func() error {
		_, err := s.deleteWhere(undo, "create", s.q.delete, t.ID)
		return err
	})
	if delErr != nil {
		return fmt.Errorf("sqlstore: create: removing a token whose cut-off could not be checked: %w", errors.Join(err, delErr))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create: reading the user's cut-off: %w", err)
	}
	return tokenauth.ErrRevoked
}

// undoTimeout bounds the deletion of a token Create refused, which runs
// even when the caller's context has ended.
const undoTimeout = 10 * time.Second

// DeleteUser implements tokenauth.Store: it raises the user's cut-off to
// before (D1; a zero before leaves it alone), then deletes the user's
// tokens but those in keep with one DELETE (D2), and returns how many it
// deleted. Cut-offs are never removed: one row per user who ever revoked
// all tokens.
func (s *Store) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	if !storableUserID(userID) {
		// Create refuses such a user ID: there is nothing to delete, and
		// nothing to refuse later.
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("sqlstore: delete user: %w", err)
		}
		return 0, nil
	}
	if !before.IsZero() {
		if err := s.retry(func() error { return s.raiseCutoff(ctx, userID, before) }); err != nil {
			return 0, fmt.Errorf("sqlstore: delete user: raising the cut-off: %w", err)
		}
	}
	query, args := s.deleteUserQuery(userID, keep)
	var n int
	err := s.retry(func() (err error) {
		if s.dialect == Postgres {
			n, err = s.deleteRepeatableRead(ctx, query, args)
		} else {
			n, err = s.deleteWhere(ctx, "delete user", query, args...)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete user: %w", err)
	}
	s.maybePrune(ctx)
	return n, nil
}

// deleteRepeatableRead runs query alone in a REPEATABLE READ transaction.
func (s *Store) deleteRepeatableRead(ctx context.Context, query string, args []any) (int, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// raiseCutoff runs D1.
func (s *Store) raiseCutoff(ctx context.Context, userID string, before time.Time) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.q.raiseCutoff, userID, s.at(before))
	return err
}

// maxAttempts bounds retry: another attempt is needed only when a
// concurrent statement on the same rows (a use recorded, a rotation,
// another revocation) made the database give up on this one.
const maxAttempts = 20

// retry runs f until it succeeds, fails for another reason than a
// conflict with a concurrent statement (see retryable), or has run
// maxAttempts times. Each attempt is a statement or transaction of its
// own, rolled back by the database when it gave up, so running it again
// is safe.
func (s *Store) retry(f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == maxAttempts || !s.retryable(err) {
			return err
		}
	}
}

// retryable reports whether the database rolled back a statement because
// of concurrent ones, inviting the caller to run it again: PostgreSQL's
// serialization failure (40001, D2's REPEATABLE READ transaction meeting
// a row changed since its snapshot) and deadlock (40P01), and MySQL's
// deadlock (error 1213): D2 locks the user index, then the rows, while
// deletes and updates by ID lock in the other order. SQLite's writers
// take turns and never deadlock.
func (s *Store) retryable(err error) bool {
	switch s.dialect {
	case Postgres:
		code := sqlState(err)
		return code == "40001" || code == "40P01"
	case MySQL:
		return strings.Contains(err.Error(), "Error 1213")
	}
	return false
}

// raiseCutoffQuery returns D1: an upsert that keeps the later of the
// stored cut-off and the new one.
func raiseCutoffQuery(d Dialect, table string) string {
	c := quote(d, cutoffsName(table))
	insert := "INSERT INTO " + c + " (user_id, not_before) VALUES (?, ?)"
	switch d {
	case Postgres:
		return insert + " ON CONFLICT (user_id) DO UPDATE SET not_before = GREATEST(" + c + ".not_before, EXCLUDED.not_before)"
	case MySQL:
		// VALUES() is deprecated by MySQL 8.0.20 for an alias that
		// MariaDB does not have; both still accept it.
		return "INSERT INTO " + c + " (user_id, not_before) VALUES (?, CAST(? AS DATETIME(6)))" +
			" ON DUPLICATE KEY UPDATE not_before = GREATEST(not_before, VALUES(not_before))"
	}
	return insert + " ON CONFLICT (user_id) DO UPDATE SET not_before = MAX(not_before, excluded.not_before)"
}

// deleteUserQuery returns D2 and its arguments. IDs no token can have are
// left out of keep: PostgreSQL would refuse invalid UTF-8.
func (s *Store) deleteUserQuery(userID string, keep []string) (string, []any) {
	args := []any{userID}
	var marks []string
	for _, id := range keep {
		if id != "" && len(id) <= maxIDLen && storableText(id) {
			args = append(args, id)
			marks = append(marks, "?")
		}
	}
	if len(marks) == 0 {
		return s.q.deleteUser, args
	}
	q := "DELETE FROM " + quote(s.dialect, s.table) + " WHERE user_id = ? AND id NOT IN (" + strings.Join(marks, ", ") + ")"
	if s.dialect == Postgres {
		q = numberPlaceholders(q)
	}
	return q, args
}

// storableUserID reports whether a token of userID can be stored.
func storableUserID(userID string) bool {
	return len(userID) <= maxUserIDLen && storableText(userID)
}
