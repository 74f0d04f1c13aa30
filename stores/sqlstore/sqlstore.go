package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Dialect is the SQL flavour of the database behind a Store.
type Dialect int

// The supported dialects. The zero Dialect is invalid.
const (
	// Postgres is PostgreSQL 9.5 or later.
	Postgres Dialect = iota + 1
	// MySQL is MySQL 5.7 or later and MariaDB 10.2 or later.
	MySQL
	// SQLite is SQLite 3.8 or later.
	SQLite
)

// MariaDB is the dialect of MariaDB: the same as MySQL.
const MariaDB = MySQL

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d >= Postgres && d <= SQLite }

// DefaultTable is the table name used when Options.Table is empty.
const DefaultTable = "tokenauth_tokens"

// DefaultPollInterval is how often Watch reads the revocation log on MySQL
// and SQLite when Options.PollInterval is zero.
const DefaultPollInterval = 250 * time.Millisecond

// minPollInterval keeps a mistyped PollInterval from turning Watch into a
// busy loop.
const minPollInterval = 10 * time.Millisecond

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the tokens table: 1 to 48 lowercase ASCII
	// letters, digits and underscores, not starting with a digit. The
	// names of its indexes, triggers and revocation log start with it.
	// Default DefaultTable.
	Table string

	// Listener receives PostgreSQL's notifications for Watch, on a
	// connection of its own: package
	// github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten provides
	// one over pgx. Without it, Watch on PostgreSQL returns an error
	// wrapping errors.ErrUnsupported at once. Not used on MySQL and
	// SQLite, where Watch polls the revocation log through the *sql.DB.
	Listener Listener

	// PollInterval is how often Watch reads the revocation log on MySQL
	// and SQLite: a revocation reaches every watcher within PollInterval
	// plus one query. Zero means DefaultPollInterval; otherwise at least
	// 10 ms.
	PollInterval time.Duration
}

// Store is a tokenauth.Store over a *sql.DB. It is safe for concurrent use.
// Create one with New or Open.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       queries

	listener Listener      // PostgreSQL's notifications, for Watch
	poll     time.Duration // how often Watch polls the revocation log

	// findStmt is Find's statement on SQLite, prepared on first use and
	// kept until the *sql.DB is closed: SQLite has no statement cache, and
	// parsing the query costs about as much as running it. The servers'
	// drivers cache statements themselves (pgx) or need none
	// (go-sql-driver with interpolateParams).
	findMu   sync.Mutex
	findStmt atomic.Pointer[sql.Stmt]

	// writeSem serialises writes on SQLite, which allows one writer at a
	// time: concurrent writers would sleep in SQLite's busy handler (1 to
	// 100 ms a try) while holding pooled connections, and reads would
	// queue behind them — measured as p99 latencies of 1–2 s each minute
	// when many tokens recorded their use at once. Nil for the servers.
	writeSem chan struct{}
}

// lockWrite waits for the right to write on SQLite, honouring ctx; it
// returns the function that gives the right back. On the servers it
// returns at once.
func (s *Store) lockWrite(ctx context.Context) (func(), error) {
	if s.writeSem == nil {
		return func() {}, nil
	}
	select {
	case s.writeSem <- struct{}{}:
		return func() { <-s.writeSem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var (
	_ tokenauth.Store          = (*Store)(nil)
	_ tokenauth.ExpiredDeleter = (*Store)(nil)
	_ tokenauth.Expirer        = (*Store)(nil)
	_ tokenauth.BatchToucher   = (*Store)(nil)
	_ tokenauth.Watcher        = (*Store)(nil)
)

// queries holds every statement, built once by New.
type queries struct {
	create, find, delete, deleteUser, list, touch, exists, deleteExpired, expire string
	migrate                                                                      ddl
	upgrade, hasColumn, countTriggers                                            string
	// The revocation log's, on MySQL and SQLite.
	logTail, logPoll, logPruneBounds, logPrune string
}

const columns = "id, user_id, name, scopes, digest, created_at, expires_at, last_used_at, max_expires_at"

// New returns a Store for the table opts.Table in db, whose SQL flavour is
// d. It does not touch the database: call Migrate, or apply Schema with
// your migration tool, before use.
func New(db *sql.DB, d Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, invalidOptions("nil *sql.DB")
	}
	if !d.valid() {
		return nil, invalidOptions("unknown dialect " + d.String())
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	poll := opts.PollInterval
	switch {
	case poll == 0:
		poll = DefaultPollInterval
	case poll < minPollInterval:
		return nil, invalidOptions(fmt.Sprintf("PollInterval %v is below %v", poll, minPollInterval))
	}
	s := &Store{db: db, dialect: d, table: table, q: buildQueries(d, table), listener: opts.Listener, poll: poll}
	if d == SQLite {
		s.writeSem = make(chan struct{}, 1)
	}
	return s, nil
}

// Table returns the name of the tokens table.
func (s *Store) Table() string { return s.table }

// Dialect returns the Store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

func invalidOptions(msg string) error {
	return fmt.Errorf("sqlstore: %s: %w", msg, tokenauth.ErrInvalidOptions)
}

func buildQueries(d Dialect, table string) queries {
	t := quote(d, table)
	// greatest and ts make Touch's comparisons temporal on every dialect:
	// the MySQL driver sends times as strings.
	greatest, ts, orderID := "GREATEST", "?", "id"
	switch d {
	case MySQL:
		ts = "CAST(? AS DATETIME(6))"
	case SQLite:
		greatest = "MAX"
	case Postgres:
		orderID = `id COLLATE "C"` // byte order, as on the other dialects
	}
	q := queries{
		create:     "INSERT INTO " + t + " (" + columns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		find:       "SELECT " + columns + " FROM " + t + " WHERE digest = ?",
		delete:     "DELETE FROM " + t + " WHERE id = ?",
		deleteUser: "DELETE FROM " + t + " WHERE user_id = ?",
		list:       "SELECT " + columns + " FROM " + t + " WHERE user_id = ? ORDER BY created_at, " + orderID,
		// A NULL argument leaves a column alone; MySQL's and SQLite's
		// GREATEST/MAX return NULL when any argument is NULL, PostgreSQL's
		// ignores them; the COALESCEs make all three behave alike. The
		// requested expiry is capped at max_expires_at with a CASE rather
		// than LEAST/MIN, whose NULLs differ alike: the CASE gives NULL for
		// a NULL argument on every dialect (PostgreSQL's LEAST would give
		// the cap), and the argument when there is no cap.
		touch: "UPDATE " + t + " SET" +
			" last_used_at = COALESCE(" + greatest + "(last_used_at, " + ts + "), last_used_at, " + ts + ")," +
			" expires_at = CASE WHEN expires_at IS NOT NULL THEN COALESCE(" + greatest + "(expires_at," +
			" CASE WHEN max_expires_at < " + ts + " THEN max_expires_at ELSE " + ts + " END), expires_at) END" +
			" WHERE id = ?",
		// Where a column is NULL (never) or later than the argument, the
		// argument; otherwise the column.
		expire: "UPDATE " + t + " SET" +
			" expires_at = CASE WHEN expires_at IS NULL OR expires_at > " + ts + " THEN " + ts + " ELSE expires_at END," +
			" max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > " + ts + " THEN " + ts + " ELSE max_expires_at END" +
			" WHERE id = ?",
		exists:        "SELECT 1 FROM " + t + " WHERE id = ?",
		deleteExpired: "DELETE FROM " + t + " WHERE expires_at <= ?",
		migrate:       schema(d, table),
		upgrade:       upgrade(d, table),
		hasColumn:     hasColumnQuery(d),
		countTriggers: countTriggersQuery(d),
	}
	if d == Postgres {
		for _, p := range []*string{&q.create, &q.find, &q.delete, &q.deleteUser, &q.list, &q.touch, &q.exists, &q.deleteExpired, &q.expire} {
			*p = numberPlaceholders(*p)
		}
	} else {
		q.logTail, q.logPoll, q.logPruneBounds, q.logPrune = logQueries(d, table)
	}
	return q
}

// numberPlaceholders rewrites ? placeholders as PostgreSQL's $1, $2, …
// The statements it is given hold no string literals.
func numberPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// at converts a time to the value its column holds: UTC with microsecond
// precision, as Unix microseconds on SQLite.
func (s *Store) at(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t
}

// atOrNull is at, with NULL for the zero time.
func (s *Store) atOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.at(t)
}

// Create implements tokenauth.Store. It returns tokenauth.ErrExists for a
// duplicate ID or digest, and an error wrapping ErrInvalidRecord for a
// record the schema cannot hold.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := checkRecord(t); err != nil {
		return err
	}
	scopes, err := encodeScopes(t.Scopes)
	if err != nil {
		return err
	}
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.q.create,
		t.ID, t.UserID, t.Name, scopes, t.Digest,
		s.at(t.CreatedAt), s.atOrNull(t.ExpiresAt), s.atOrNull(t.LastUsedAt), s.atOrNull(t.MaxExpiresAt))
	switch {
	case err == nil:
		return nil
	case s.isUniqueViolation(err):
		// The driver's message is dropped: MySQL's repeats the duplicate
		// value, which may be the digest.
		return fmt.Errorf("sqlstore: create: %w", tokenauth.ErrExists)
	}
	return fmt.Errorf("sqlstore: create: %w", err)
}

// Find implements tokenauth.Store with one query on the unique digest
// index.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if len(digest) == 0 || len(digest) > maxDigestLen {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: find: %w", err)
		}
		return nil, tokenauth.ErrNotFound // Create never stores such a digest
	}
	var row *sql.Row
	if s.dialect == SQLite {
		st, err := s.prepareFind(ctx)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: find: %w", err)
		}
		row = st.QueryRowContext(ctx, digest)
	} else {
		row = s.db.QueryRowContext(ctx, s.q.find, digest)
	}
	t, err := scanToken(row)
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, sql.ErrNoRows):
		return nil, tokenauth.ErrNotFound
	}
	return nil, fmt.Errorf("sqlstore: find: %w", err)
}

// prepareFind returns findStmt, preparing it if no call has yet; a failed
// preparation (the table does not exist yet) is tried again next time.
func (s *Store) prepareFind(ctx context.Context) (*sql.Stmt, error) {
	if st := s.findStmt.Load(); st != nil {
		return st, nil
	}
	s.findMu.Lock()
	defer s.findMu.Unlock()
	if st := s.findStmt.Load(); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.q.find)
	if err != nil {
		return nil, err
	}
	s.findStmt.Store(st)
	return st, nil
}

// Delete implements tokenauth.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, s.q.delete, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	if n == 0 {
		return tokenauth.ErrNotFound
	}
	return nil
}

// DeleteUser implements tokenauth.Store with one DELETE.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	return s.deleteWhere(ctx, "delete user", s.q.deleteUser, userID)
}

// DeleteExpired implements tokenauth.ExpiredDeleter with one DELETE that
// uses the expires_at index: run it from a periodic job. On MySQL and
// SQLite it then prunes the revocation log of rows older than an hour,
// which Watch does too: without either the log keeps a row per revocation.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	n, err := s.deleteWhere(ctx, "delete expired", s.q.deleteExpired, s.at(before))
	if err != nil || s.q.logPrune == "" {
		return n, err
	}
	if err := s.pruneLog(ctx); err != nil {
		return n, fmt.Errorf("sqlstore: delete expired: pruning the revocation log: %w", err)
	}
	return n, nil
}

func (s *Store) deleteWhere(ctx context.Context, op, query string, arg any) (int, error) {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, query, arg)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return int(n), nil
}

// List implements tokenauth.Store. It returns an empty, non-nil slice for
// a user without tokens.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.q.list, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	defer rows.Close()
	out := []*tokenauth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	return out, nil
}

// Touch implements tokenauth.Store with one UPDATE that never moves
// LastUsedAt or ExpiresAt backwards, never moves ExpiresAt past the stored
// MaxExpiresAt, and never gives an expiry to a token without one.
//
// MySQL reports the rows an UPDATE changed rather than those it matched,
// so there a Touch that changes nothing (an older use recorded after a
// newer one) is followed by a primary-key lookup that tells it from a
// missing token.
func (s *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	used, exp := s.atOrNull(lastUsed), s.atOrNull(expiresAt)
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: touch: %w", err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, s.q.touch, used, used, exp, exp, id)
	if err != nil {
		return fmt.Errorf("sqlstore: touch: %w", err)
	}
	return s.updated(ctx, "touch", res, id)
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
