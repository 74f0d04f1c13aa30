package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Listener delivers PostgreSQL's notifications to Store.Watch on a
// connection of its own: database/sql cannot LISTEN. Package
// github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten implements it
// over pgx, so that this package imports no driver.
type Listener interface {
	// Listen subscribes to channel and calls notify with the payload of
	// each notification on the channel, in order, until ctx ends or the
	// channel fails. It returns the error that ended it (ctx's error when
	// ctx ended).
	//
	// It calls ready once the subscription is proven to deliver, and
	// again each time it confirms that it still does, at least once a
	// second while it holds, so that a caller can trust the channel only
	// while ready keeps coming. A subscription that is accepted but
	// delivers nothing (PgBouncer in transaction mode, a database without
	// LISTEN/NOTIFY) is an error wrapping errors.ErrUnsupported, before
	// any ready.
	Listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error
}

// Watch implements cachestore.Watcher: it calls changed with the ID and
// user ID of every token deleted, or whose expiry was brought forward, by
// anyone — this process, another replica, the CLI, plain SQL — as the
// triggers that Migrate and Schema create record them. A TRUNCATE, which
// fires no trigger, is not seen.
//
// On every dialect the triggers append to a revocation log (the table
// named after the tokens table with the suffix _revocations), which Watch
// reads every Options.PollInterval, calling alive after each read: a
// revocation reaches it within the interval plus one query. Watch also
// prunes log rows older than an hour, every five minutes, as
// DeleteExpired does.
//
// On PostgreSQL the triggers also NOTIFY a channel named after the table,
// and with Options.Listener Watch listens instead of polling: a
// revocation reaches it when the deleting transaction commits, in about a
// millisecond on a local network; each ready of the Listener is passed on
// as alive: pglisten's come twice a second, after a heartbeat NOTIFY came
// back, so a frozen connection ends Watch within about 2 s (measured
// 1.55-2.01 s). If the Listener fails with an error wrapping
// errors.ErrUnsupported (LISTEN does not deliver: PgBouncer in transaction
// mode, CockroachDB), Watch logs it once at WARN and polls from then on:
// at once if the Listener had not called ready, from the next Watch
// otherwise (it returns an error, since events may have been missed).
// WatchMode says which. The channel is per database, not per schema:
// listeners of same-named tables in two schemas hear both, which costs a
// cache a few needless evictions.
//
// Watch first checks that the table has both triggers (and on PostgreSQL
// that their function writes the log), and returns an error if not:
// without them it would hear nothing. It returns the first failed query
// or the Listener's error: the caller must then assume anything changed,
// as the Watcher contract says, and may watch again.
func (s *Store) Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	err := s.checkTriggers(ctx)
	if err == nil {
		if s.WatchMode() == WatchListen {
			err = s.listenOrPoll(ctx, alive, changed)
		} else {
			err = s.pollLog(ctx, alive, changed)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("sqlstore: watch: %w", err)
}

// errNoTriggers is Watch's error on a table without the revocation
// triggers, which would otherwise hear nothing, silently.
var errNoTriggers = errors.New("the revocation triggers are missing or out of date: run Migrate, or apply Schema's statements")

// checkTriggers returns errNoTriggers unless both revocation triggers
// exist on the table, and on PostgreSQL their function writes the log.
func (s *Store) checkTriggers(ctx context.Context) error {
	args := []any{s.table, onDeleteName(s.table), onExpireName(s.table)}
	want := 2
	if s.dialect == Postgres {
		// regclass and regproc input: quoted names.
		// The log's name is also the channel's: look for the INSERT.
		args = []any{quote(Postgres, s.table), args[1], args[2], quote(Postgres, notifyFuncName(s.table)),
			"INSERT INTO " + quote(Postgres, revocationsName(s.table))}
		want = 3
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.countTriggers, args...).Scan(&n); err != nil {
		return err
	}
	if n < want {
		return errNoTriggers
	}
	return nil
}

// listen is Watch on PostgreSQL. Every ready of the Listener is passed on.
func (s *Store) listen(ctx context.Context, ready func(), changed func(tokenID, userID string)) error {
	err := s.listener.Listen(ctx, revocationsName(s.table), ready, func(payload string) {
		// The trigger's [id, user_id]. Anything else on the channel was
		// not sent by it, and names no token.
		var ids []string
		if json.Unmarshal([]byte(payload), &ids) == nil && len(ids) == 2 {
			changed(ids[0], ids[1])
		}
	})
	if err == nil && ctx.Err() == nil {
		err = errors.New("the listener returned while the context was live")
	}
	return err
}

// Revocation log housekeeping. The log only needs the rows a watcher has
// not read yet; an hour covers any watcher that still runs.
const (
	logBatch     = 1000            // rows one poll reads at most; a full read is followed by another at once
	logRetention = time.Hour       // rows older than this are pruned
	pruneEvery   = 5 * time.Minute // how often a watcher prunes
)

// logQueries returns the revocation log's statements: the newest sequence
// numbers, the start of a poll (logCursor adds the ranges it waits for),
// and the prune's two, see pruneLog.
func logQueries(d Dialect, table string) (tail, poll, pruneBounds, prune string) {
	log := quote(d, revocationsName(table))
	tail = "SELECT seq FROM " + log + " ORDER BY seq DESC LIMIT " + fmt.Sprint(maxGaps)
	poll = "SELECT seq, token_id, user_id FROM " + log + " WHERE seq > ?"
	pruneBounds = "SELECT (SELECT MAX(seq) FROM " + log + " WHERE created_at < ?)," +
		" (SELECT MIN(seq) FROM " + log + " WHERE created_at >= ?), (SELECT MAX(seq) FROM " + log + ")"
	prune = "DELETE FROM " + log + " WHERE seq <= ?"
	if d == Postgres {
		pruneBounds, prune = numberPlaceholders(pruneBounds), numberPlaceholders(prune)
	}
	return tail, poll, pruneBounds, prune
}

// pollLog is Watch by polling the revocation log; it calls alive once it
// knows where the log ends, and again after each poll.
func (s *Store) pollLog(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	var c logCursor
	if err := s.readLogTail(ctx, &c); err != nil {
		return err
	}
	alive()
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		for {
			n, err := s.readLog(ctx, &c, changed)
			if err != nil {
				return err
			}
			if n < logBatch {
				break
			}
		}
		alive()
		if now := time.Now(); now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			// Housekeeping: a failure here leaves rows for the next
			// prune, and an outage shows in the next poll.
			_ = s.pruneLog(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// readLogTail starts c at the newest row of the log, waiting for the
// numbers missing among the newest rows: a revocation committed just
// before Watch started may still appear there.
func (s *Store) readLogTail(ctx context.Context, c *logCursor) error {
	rows, err := s.db.QueryContext(ctx, s.q.logTail)
	if err != nil {
		return err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := time.Now()
	for i := len(seqs) - 1; i >= 0; i-- {
		if i == len(seqs)-1 {
			c.last = seqs[i]
		} else {
			c.saw(seqs[i], now)
		}
	}
	return nil
}

// readLog reads the rows after c and in its gaps, and calls changed for
// each row not read before, in sequence order. It returns how many rows
// the query returned.
func (s *Store) readLog(ctx context.Context, c *logCursor, changed func(tokenID, userID string)) (int, error) {
	query, args := c.query(s.q.logPoll)
	if s.dialect == Postgres {
		query = numberPlaceholders(query)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	type revocation struct{ token, user string }
	var news []revocation
	n := 0
	now := time.Now()
	for rows.Next() {
		var (
			seq  int64
			r    revocation
			user []byte // VARBINARY on MySQL
			tok  []byte
		)
		if err := rows.Scan(&seq, &tok, &user); err != nil {
			return 0, err
		}
		n++
		if c.saw(seq, now) {
			r.token, r.user = string(tok), string(user)
			news = append(news, r)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close() // free the connection before the callbacks
	c.expire(now)
	for _, r := range news {
		changed(r.token, r.user)
	}
	return n, nil
}

// pruneLog deletes the revocation log's rows older than logRetention: up
// to the newest old row, but not past the oldest young one, nor the
// newest row, so that MySQL before 8.0, which resets AUTO_INCREMENT to the
// highest row + 1 on restart, never hands out a number a watcher has read.
//
// The bounds are found by a plain SELECT, which takes no locks, and the
// DELETE is a range of the primary key below the rows being written: on
// MySQL, a DELETE by created_at would lock the first row past its range,
// and if a transaction had that row uncommitted, wait for it while every
// revocation's insert queued behind the DELETE.
func (s *Store) pruneLog(ctx context.Context) error {
	var old, young, newest sql.NullInt64
	cutoff := s.at(time.Now().Add(-logRetention))
	if err := s.db.QueryRowContext(ctx, s.q.logPruneBounds, cutoff, cutoff).Scan(&old, &young, &newest); err != nil {
		return err
	}
	bound := min(old.Int64, newest.Int64-1)
	if young.Valid {
		bound = min(bound, young.Int64-1)
	}
	if !old.Valid || bound < 1 {
		return nil
	}
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.q.logPrune, bound)
	return err
}

// How long, and for how many, a watcher waits for missing numbers.
const (
	gapWait = time.Minute
	maxGaps = 100
)

// logCursor is how far a watcher has read the revocation log. Sequence
// numbers are handed out when a row is written but become visible when
// its transaction commits, which on MySQL is not always in order: a
// number skipped over may still appear. The cursor keeps such gaps and
// asks for them again for gapWait: a revocation committed later than that
// after a later one was read, or while maxGaps newer gaps wait, is missed.
// On SQLite, whose writers take turns, rows appear in order and there are
// no gaps to wait for.
type logCursor struct {
	last int64    // the highest number read
	gaps []seqGap // numbers below last not read yet, in ascending order
}

type seqGap struct {
	from, to int64     // inclusive
	since    time.Time // when the gap was found
}

// query returns the poll query, base followed by the gaps, and its
// arguments.
func (c *logCursor) query(base string) (string, []any) {
	q := base
	args := []any{c.last}
	for _, g := range c.gaps {
		q += " OR seq BETWEEN ? AND ?"
		args = append(args, g.from, g.to)
	}
	return q + " ORDER BY seq LIMIT " + fmt.Sprint(logBatch), args
}

// saw records that the row numbered seq was read, at now, and reports
// whether it was new.
func (c *logCursor) saw(seq int64, now time.Time) bool {
	if seq > c.last {
		if seq > c.last+1 {
			c.gaps = append(c.gaps, seqGap{c.last + 1, seq - 1, now})
			c.trim()
		}
		c.last = seq
		return true
	}
	for i, g := range c.gaps {
		if seq < g.from || seq > g.to {
			continue
		}
		var split []seqGap
		if g.from < seq {
			split = append(split, seqGap{g.from, seq - 1, g.since})
		}
		if seq < g.to {
			split = append(split, seqGap{seq + 1, g.to, g.since})
		}
		c.gaps = append(c.gaps[:i], append(split, c.gaps[i+1:]...)...)
		c.trim()
		return true
	}
	return false
}

// trim drops the oldest gaps beyond maxGaps. Gaps are found in ascending
// order, so the first is the oldest.
func (c *logCursor) trim() {
	if n := len(c.gaps) - maxGaps; n > 0 {
		c.gaps = c.gaps[n:]
	}
}

// expire stops waiting for gaps found more than gapWait before now.
func (c *logCursor) expire(now time.Time) {
	keep := c.gaps[:0]
	for _, g := range c.gaps {
		if now.Sub(g.since) <= gapWait {
			keep = append(keep, g)
		}
	}
	c.gaps = keep
}

// maybePrune prunes the revocation log if pruneEvery has passed since a
// revocation made through s last did: so the log stays bounded where no
// Watch polls it (one that listens, or none), as long as revocations go
// through a Store. A failure leaves the rows for the next one.
func (s *Store) maybePrune(ctx context.Context) {
	next := s.nextPrune.Load()
	now := time.Now()
	if now.UnixNano() < next || !s.nextPrune.CompareAndSwap(next, now.Add(pruneEvery).UnixNano()) {
		return
	}
	_ = s.pruneLog(ctx)
}
