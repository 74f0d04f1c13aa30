package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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

// DefaultPollInterval is how often Watch reads the revocation log when
// Options.PollInterval is zero.
const DefaultPollInterval = 250 * time.Millisecond

// Bounds of PollInterval: the lower keeps a mistyped one from turning
// Watch into a busy loop; the upper is the Watcher contract's, which has
// alive called at least once a second (a cache takes itself to be
// unwatched 3 s after the last).
const (
	minPollInterval = 10 * time.Millisecond
	maxPollInterval = time.Second
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the tokens table: 1 to 48 lowercase ASCII
	// letters, digits and underscores, not starting with a digit. The
	// names of its indexes, triggers and revocation log start with it.
	// Default DefaultTable.
	Table string

	// Listener receives PostgreSQL's notifications for Watch, on a
	// connection of its own, so that revocations arrive within
	// milliseconds instead of a poll interval: package
	// github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten provides
	// one over pgx. Without it, Watch polls the revocation log through
	// the *sql.DB, as it does on MySQL and SQLite, where it is not used.
	Listener Listener

	// PollInterval is how often Watch reads the revocation log, on every
	// dialect but PostgreSQL with a Listener: a revocation reaches every
	// watcher within PollInterval plus one query. Zero means
	// DefaultPollInterval; otherwise 10 ms to 1 s.
	PollInterval time.Duration

	// Logger receives what an operator must know: Migrate's changes to
	// stored tokens. Default slog.Default().
	Logger *slog.Logger
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
	log      *slog.Logger

	// listenFailed is set once the Listener has failed with an error
	// wrapping errors.ErrUnsupported: Watch polls from then on.
	listenFailed atomic.Bool
	// nextPrune is when, in Unix nanoseconds, a revocation made through
	// this Store next prunes the revocation log (see maybePrune).
	nextPrune atomic.Int64

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

var _ tokenauth.Store = (*Store)(nil)

// queries holds every statement, built once by New.
type queries struct {
	create, find, delete, list, exists, deleteExpired, expire string
	// The cut-offs': Create's look-up, DeleteUser's upsert, and its
	// DELETE without keep (cutoff.go builds the one with keep).
	cutoff, raiseCutoff, deleteUser string
	migrate                         ddl
	columns, countTriggers          string
	// Import's ledger.
	recordImport, unrecordImport string
	// Migrate's upgrade from before v0.1.0, and MigrateReport's count.
	lacksTable, backfill, countNeverExpire string
	// The revocation log's.
	logTail, logPoll, logPruneBounds, logPrune string
}

// columns are the tokens table's, in the order of Schema, Create and
// scanToken: the record, then the per-token policy.
const columns = "id, user_id, name, scopes, digest, created_at, expires_at, last_used_at, max_expires_at, " +
	"personal, not_before, allowed_ips, denied_ips, rate_limit, rate_window_ns, created_from, user_agent"

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
	case poll < minPollInterval || poll > maxPollInterval:
		return nil, invalidOptions(fmt.Sprintf("PollInterval %v is outside %v to %v", poll, minPollInterval, maxPollInterval))
	}
	s := &Store{db: db, dialect: d, table: table, q: buildQueries(d, table), listener: opts.Listener, poll: poll, log: cmp.Or(opts.Logger, slog.Default())}
	if d == SQLite {
		s.writeSem = make(chan struct{}, 1)
	}
	s.nextPrune.Store(time.Now().Add(pruneEvery).UnixNano())
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
	// ts makes comparisons temporal on every dialect: the MySQL driver
	// sends times as strings.
	ts, orderID := "?", "id"
	switch d {
	case MySQL:
		ts = "CAST(? AS DATETIME(6))"
	case Postgres:
		orderID = `id COLLATE "C"` // byte order, as on the other dialects
	}
	q := queries{
		create: "INSERT INTO " + t + " (" + columns + ") VALUES (?" + strings.Repeat(", ?", strings.Count(columns, ",")) + ")",
		find:   "SELECT " + columns + " FROM " + t + " WHERE digest = ?",
		delete: "DELETE FROM " + t + " WHERE id = ?",
		list:   "SELECT " + columns + " FROM " + t + " WHERE user_id = ? ORDER BY created_at, " + orderID,
		// Where a column is NULL (never) or later than the argument, the
		// argument; otherwise the column.
		expire: "UPDATE " + t + " SET" +
			" expires_at = CASE WHEN expires_at IS NULL OR expires_at > " + ts + " THEN " + ts + " ELSE expires_at END," +
			" max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > " + ts + " THEN " + ts + " ELSE max_expires_at END" +
			" WHERE id = ?",
		exists:           "SELECT 1 FROM " + t + " WHERE id = ?",
		deleteExpired:    "DELETE FROM " + t + " WHERE expires_at <= ?",
		migrate:          schema(d, table),
		cutoff:           "SELECT 1 FROM " + quote(d, cutoffsName(table)) + " WHERE user_id = ? AND not_before > " + ts,
		raiseCutoff:      raiseCutoffQuery(d, table),
		deleteUser:       "DELETE FROM " + t + " WHERE user_id = ?",
		lacksTable:       lacksTableQuery(d),
		recordImport:     "INSERT INTO " + quote(d, importsName(table)) + " (digest, imported_at) VALUES (?, ?)",
		unrecordImport:   "DELETE FROM " + quote(d, importsName(table)) + " WHERE digest = ?",
		backfill:         backfillQuery(d, table),
		countNeverExpire: "SELECT COUNT(*) FROM " + t + " WHERE expires_at IS NULL",
		columns:          columnsQuery(d),
		countTriggers:    countTriggersQuery(d),
	}
	if d == Postgres {
		for _, p := range []*string{&q.create, &q.find, &q.delete, &q.deleteUser, &q.list, &q.exists, &q.deleteExpired, &q.expire, &q.cutoff, &q.raiseCutoff, &q.recordImport, &q.unrecordImport} {
			*p = numberPlaceholders(*p)
		}
	}
	q.logTail, q.logPoll, q.logPruneBounds, q.logPrune = logQueries(d, table)
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

// Create implements tokenauth.Store: an INSERT, then a look-up of the
// user's cut-off (see cutoff.go). It returns tokenauth.ErrExists for a
// duplicate ID or digest, tokenauth.ErrRevoked, storing nothing, for a
// token created before its user's cut-off, and an error wrapping
// ErrInvalidRecord for a record the schema cannot hold.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := checkRecord(t); err != nil {
		return err
	}
	args, err := s.row(t)
	if err != nil {
		return err
	}
	if err := s.insert(ctx, args); err != nil {
		return err
	}
	return s.checkCutoff(ctx, t)
}

// row returns the values of t's row, in the order of columns. A policy
// left unset is NULL, as in rows written before its column existed.
func (s *Store) row(t *tokenauth.Token) ([]any, error) {
	scopes, err := encodeScopes(t.Scopes)
	if err != nil {
		return nil, err
	}
	allowed, err := encodePrefixes(t.AllowedIPs)
	if err != nil {
		return nil, err
	}
	denied, err := encodePrefixes(t.DeniedIPs)
	if err != nil {
		return nil, err
	}
	return []any{
		t.ID, t.UserID, t.Name, scopes, t.Digest,
		s.at(t.CreatedAt), s.atOrNull(t.ExpiresAt), s.atOrNull(t.LastUsedAt), s.atOrNull(t.MaxExpiresAt),
		t.Personal, s.atOrNull(t.NotBefore), allowed, denied,
		intOrNull(int64(t.RateLimit)), intOrNull(int64(t.RateWindow)), textOrNull(t.CreatedFrom), textOrNull(t.UserAgent),
	}, nil
}

func intOrNull(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insert writes a row.
func (s *Store) insert(ctx context.Context, args []any) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.q.create, args...)
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
	n, err := s.deleteWhere(ctx, "delete", s.q.delete, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return tokenauth.ErrNotFound
	}
	s.maybePrune(ctx)
	return nil
}

// DeleteExpired deletes the tokens that expired before before, with one
// DELETE that uses the expires_at index, and returns how many: run it from
// a periodic job (the CLI's purge-expired does). Expired tokens are
// refused anyway; purging keeps the table small. It then prunes the
// revocation log of rows older than an hour, as Watch and the revoking
// methods do every five minutes.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	n, err := s.deleteWhere(ctx, "delete expired", s.q.deleteExpired, s.at(before))
	if err != nil {
		return n, err
	}
	if err := s.pruneLog(ctx); err != nil {
		return n, fmt.Errorf("sqlstore: delete expired: pruning the revocation log: %w", err)
	}
	return n, nil
}

func (s *Store) deleteWhere(ctx context.Context, op, query string, args ...any) (int, error) {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer unlock()
	// A deadlock with a concurrent DeleteUser rolled the statement back:
	// it is run again rather than turned into an outage.
	var res sql.Result
	err = s.retry(func() (err error) {
		res, err = s.db.ExecContext(ctx, query, args...)
		return err
	})
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
