package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// fakeListener plays PostgreSQL's side of Watch: it records the channel,
// calls ready readies times (once when zero), delivers payloads, then
// returns err (or waits for ctx when err is nil and wait is set).
type fakeListener struct {
	channel  string
	payloads []string
	readies  int
	err      error
	wait     bool
	calls    int
}

func (l *fakeListener) Listen(ctx context.Context, channel string, ready func(), notify func(string)) error {
	l.channel = channel
	l.calls++
	for range max(l.readies, 1) {
		ready()
	}
	for _, p := range l.payloads {
		notify(p)
	}
	if l.wait {
		<-ctx.Done()
		return ctx.Err()
	}
	return l.err
}

// change is one call of Watch's changed.
type change struct{ id, user string }

// record returns Watch's callbacks, recording their calls.
func record() (alive func(), changed func(string, string), alives *int, changes *[]change) {
	alives, changes = new(int), new([]change)
	return func() { *alives++ }, func(id, user string) { *changes = append(*changes, change{id, user}) }, alives, changes
}

// countTriggersSQL counts the table's revocation triggers, on each dialect;
// on PostgreSQL, and whether their function writes the log.
var countTriggersSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "SELECT (SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = CAST($1 AS text)::regclass AND tgname IN ($2, $3))" +
		" + (SELECT COUNT(*) FROM pg_proc WHERE oid = to_regproc($4) AND strpos(prosrc, $5) > 0)",
	sqlstore.MySQL: "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()" +
		" AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?, ?)",
	sqlstore.SQLite: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name IN (?, ?)",
}

// expectTriggers expects Watch's look-up of the triggers of table, which
// counts n: 3 on PostgreSQL and 2 elsewhere when all is there.
func expectTriggers(mock sqlmock.Sqlmock, d sqlstore.Dialect, table string, n int) {
	if d == sqlstore.Postgres {
		mock.ExpectQuery(countTriggersSQL[d]).
			WithArgs(`"`+table+`"`, table+"_on_delete", table+"_on_expire", `"`+table+`_notify"`, `INSERT INTO "`+table+`_revocations"`).
			WillReturnRows(count(n))
		return
	}
	mock.ExpectQuery(countTriggersSQL[d]).WithArgs(table, table+"_on_delete", table+"_on_expire").WillReturnRows(count(n))
}

// allTriggers is what expectTriggers counts when the triggers are there.
func allTriggers(d sqlstore.Dialect) int {
	if d == sqlstore.Postgres {
		return 3
	}
	return 2
}

// newPostgresMock returns a Store on PostgreSQL over l, whose triggers
// Watch finds, and the log that it writes.
func newPostgresMock(t *testing.T, l sqlstore.Listener, logger *slog.Logger) (*sqlstore.Store, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, mock.ExpectationsWereMet())
		db.Close()
	})
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.Options{Table: "api_tokens", Listener: l, PollInterval: 10 * time.Millisecond, Logger: logger})
	require.NoError(t, err)
	return s, mock
}

func TestWatchListens(t *testing.T) {
	ctx := context.Background()
	t.Run("the trigger's payloads are changes; others are skipped", func(t *testing.T) {
		l := &fakeListener{payloads: []string{
			`["id-1","user-1"]`,
			`["id with \"quotes\" and spaces","user 2"]`,
			"", "id-3 user-3", `["only one"]`, `["a","b","c"]`, `{"id":"x"}`, `[1,2]`,
			`["id-4",""]`,
		}, err: errDown}
		s, mock := newPostgresMock(t, l, nil)
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		assert.Equal(t, sqlstore.WatchListen, s.WatchMode())
		alive, changed, alives, changes := record()
		err := s.Watch(ctx, alive, changed)
		assert.ErrorIs(t, err, errDown)
		assert.Equal(t, "sqlstore: watch: "+errDown.Error(), err.Error())
		assert.Equal(t, "api_tokens_revocations", l.channel)
		assert.Equal(t, 1, *alives)
		assert.Equal(t, []change{{"id-1", "user-1"}, {`id with "quotes" and spaces`, "user 2"}, {"id-4", ""}}, *changes)
		assert.Equal(t, sqlstore.WatchListen, s.WatchMode(), "an outage is no reason to poll")
	})
	t.Run("every ready of the Listener is an alive", func(t *testing.T) {
		s, mock := newPostgresMock(t, &fakeListener{readies: 4, err: errDown}, nil)
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		alive, changed, alives, _ := record()
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Equal(t, 4, *alives)
	})
	t.Run("until ctx ends", func(t *testing.T) {
		s, mock := newPostgresMock(t, &fakeListener{wait: true}, nil)
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		err := s.Watch(cctx, func() {}, func(string, string) {})
		assert.Equal(t, context.DeadlineExceeded, err, "ctx's own error")
	})
	for _, n := range []int{0, 2} {
		t.Run(fmt.Sprintf("a table with %d of 3 (triggers, function writing the log) cannot be watched", n), func(t *testing.T) {
			l := &fakeListener{wait: true}
			s, mock := newPostgresMock(t, l, nil)
			expectTriggers(mock, sqlstore.Postgres, "api_tokens", n)
			alive, changed, alives, _ := record()
			err := s.Watch(ctx, alive, changed)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "revocation triggers are missing or out of date")
			assert.Zero(t, *alives)
			assert.Empty(t, l.channel, "no LISTEN")
		})
	}
	t.Run("a listener that returns nil while ctx lives is an error", func(t *testing.T) {
		s, mock := newPostgresMock(t, &fakeListener{}, nil)
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		err := s.Watch(ctx, func() {}, func(string, string) {})
		require.Error(t, err)
		assert.NotErrorIs(t, err, context.Canceled)
	})
}

// When LISTEN does not deliver (the Listener's error wraps
// errors.ErrUnsupported), Watch polls instead, for good, and says so once.
func TestWatchFallsBackToPolling(t *testing.T) {
	ctx := context.Background()
	unsupported := fmt.Errorf("pglisten: no notification came back within 5s (PgBouncer in transaction mode?): %w", errors.ErrUnsupported)
	t.Run("before subscribing: in the same Watch", func(t *testing.T) {
		var logs bytes.Buffer
		l := &fakeListener{err: unsupported}
		s, mock := newPostgresMock(t, noReady{l}, slog.New(slog.NewTextHandler(&logs, nil)))
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		mock.ExpectQuery(logTailSQL("api_tokens", sqlstore.Postgres)).WillReturnRows(seqRows(4))
		mock.ExpectQuery(pollSQLOf("api_tokens", sqlstore.Postgres, 0)).WithArgs(4).WillReturnRows(logRows().AddRow(5, "id-5", "u"))
		mock.ExpectQuery(pruneBoundsOf("api_tokens", sqlstore.Postgres)).WillReturnRows(sqlmock.NewRows([]string{"o", "y", "n"}).AddRow(nil, nil, 5))
		mock.ExpectQuery(pollSQLOf("api_tokens", sqlstore.Postgres, 0)).WithArgs(5).WillReturnError(errDown)
		alive, changed, alives, changes := record()
		err := s.Watch(ctx, alive, changed)
		assert.ErrorIs(t, err, errDown)
		assert.NotErrorIs(t, err, errors.ErrUnsupported, "the store can watch: it polls")
		assert.Equal(t, []change{{"id-5", "u"}}, *changes)
		assert.Equal(t, 2, *alives, "once subscribed, once after the poll that succeeded")
		assert.Equal(t, sqlstore.WatchPoll, s.WatchMode())
		assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
		assert.Contains(t, logs.String(), "PgBouncer in transaction mode?", "the cause is named")

		// The next Watch polls without asking the Listener, and says
		// nothing more.
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		mock.ExpectQuery(logTailSQL("api_tokens", sqlstore.Postgres)).WillReturnError(errDown)
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Equal(t, 1, l.calls)
		assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"))
	})
	t.Run("after subscribing: from the next Watch", func(t *testing.T) {
		l := &fakeListener{err: unsupported}
		s, mock := newPostgresMock(t, l, discardLogger())
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		alive, changed, alives, _ := record()
		err := s.Watch(ctx, alive, changed)
		require.Error(t, err)
		assert.NotErrorIs(t, err, errors.ErrUnsupported, "the caller must subscribe again, not give up")
		assert.Contains(t, err.Error(), "watching by polling from the next subscription")
		assert.Equal(t, 1, *alives)
		assert.Equal(t, sqlstore.WatchPoll, s.WatchMode())

		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 3)
		mock.ExpectQuery(logTailSQL("api_tokens", sqlstore.Postgres)).WillReturnRows(seqRows())
		mock.ExpectQuery(pollSQLOf("api_tokens", sqlstore.Postgres, 0)).WithArgs(0).WillReturnError(errDown)
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Equal(t, 1, l.calls)
	})
}

// noReady is a Listener that fails before it is subscribed.
type noReady struct{ l *fakeListener }

func (n noReady) Listen(ctx context.Context, channel string, _ func(), notify func(string)) error {
	return n.l.Listen(ctx, channel, func() {}, notify)
}

// The revocation log's statements of a table on each dialect.
func logTailSQL(table string, d sqlstore.Dialect) string {
	return "SELECT seq FROM " + q(d, table+"_revocations") + " ORDER BY seq DESC LIMIT 100"
}

// pollSQLOf is a poll's statement, waiting for gaps missing numbers.
func pollSQLOf(table string, d sqlstore.Dialect, gaps int) string {
	query := "SELECT seq, token_id, user_id FROM " + q(d, table+"_revocations") + " WHERE seq > ?" +
		strings.Repeat(" OR seq BETWEEN ? AND ?", gaps) + " ORDER BY seq LIMIT 1000"
	if d != sqlstore.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func pruneBoundsOf(table string, d sqlstore.Dialect) string {
	return strings.ReplaceAll(pruneBoundsSQL[d], "tokenauth_tokens", table)
}

// q quotes a name as dialect d does.
func q(d sqlstore.Dialect, name string) string {
	if d == sqlstore.MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

func pollSQL(d sqlstore.Dialect, gaps int) string { return pollSQLOf("tokenauth_tokens", d, gaps) }

func seqRows(seqs ...int64) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"seq"})
	for _, s := range seqs {
		rows.AddRow(s)
	}
	return rows
}

func logRows() *sqlmock.Rows { return sqlmock.NewRows([]string{"seq", "token_id", "user_id"}) }

func newPollMock(t *testing.T, d sqlstore.Dialect) (*sqlstore.Store, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, mock.ExpectationsWereMet())
		db.Close()
	})
	s, err := sqlstore.New(db, d, sqlstore.Options{PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	return s, mock
}

// Every dialect polls the log, PostgreSQL without a Listener too.
func TestWatchPolls(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			s, mock := newPollMock(t, d)
			assert.Equal(t, sqlstore.WatchPoll, s.WatchMode())
			// The newest rows are 4, 5 and 7: the cursor starts after 7 and
			// waits for 6, whose transaction may not have committed.
			expectTriggers(mock, d, "tokenauth_tokens", allTriggers(d))
			mock.ExpectQuery(logTailSQL("tokenauth_tokens", d)).WillReturnRows(seqRows(7, 5, 4))
			mock.ExpectQuery(pollSQL(d, 1)).WithArgs(7, 6, 6).WillReturnRows(logRows().
				AddRow(6, []byte("id-6"), []byte("user-a")).
				AddRow(8, "id-8", "user-b").
				AddRow(10, "id-10", "user-a"))
			expectPrune(mock, d, 2, 3, 10, 2)
			// Now 9 is missing; a row read before is not a change again.
			mock.ExpectQuery(pollSQL(d, 1)).WithArgs(10, 9, 9).WillReturnRows(logRows().
				AddRow(9, "id-9", "user-c"))
			mock.ExpectQuery(pollSQL(d, 0)).WithArgs(10).WillReturnRows(logRows())
			mock.ExpectQuery(pollSQL(d, 0)).WithArgs(10).WillReturnError(errDown)

			alive, changed, alives, changes := record()
			err := s.Watch(ctx, alive, changed)
			assert.ErrorIs(t, err, errDown)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: watch: "))
			assert.Equal(t, 4, *alives, "once subscribed, then after each of the three polls that succeeded")
			assert.Equal(t, []change{{"id-6", "user-a"}, {"id-8", "user-b"}, {"id-10", "user-a"}, {"id-9", "user-c"}}, *changes)
		})
	}
	t.Run("an empty log", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.SQLite)
		expectTriggers(mock, sqlstore.SQLite, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL("tokenauth_tokens", sqlstore.SQLite)).WillReturnRows(seqRows())
		mock.ExpectQuery(pollSQL(sqlstore.SQLite, 0)).WithArgs(0).WillReturnRows(logRows().AddRow(1, "id-1", "u"))
		pruneBounds(mock, sqlstore.SQLite, 0, 0, 0).WillReturnError(errDown)
		mock.ExpectQuery(pollSQL(sqlstore.SQLite, 0)).WithArgs(1).WillReturnError(errDown)
		alive, changed, _, changes := record()
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown, "a failed prune does not end Watch; the next poll's failure does")
		assert.Equal(t, []change{{"id-1", "u"}}, *changes)
	})
	t.Run("a full read is followed by another at once", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		full := logRows()
		for i := int64(1); i <= 1000; i++ {
			full.AddRow(i, fmt.Sprint("id-", i), "u")
		}
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL("tokenauth_tokens", sqlstore.MySQL)).WillReturnRows(seqRows())
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(0).WillReturnRows(full)
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(1000).WillReturnRows(logRows().AddRow(1001, "id-1001", "u"))
		expectPrune(mock, sqlstore.MySQL, nil, 1, 1001, 0)
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(1001).WillReturnError(errDown)
		alive, changed, alives, changes := record()
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Len(t, *changes, 1001)
		assert.Equal(t, 2, *alives, "the two reads of one poll confirm once")
	})
	for _, d := range dialects {
		t.Run(d.String()+": a table without the triggers cannot be watched", func(t *testing.T) {
			s, mock := newPollMock(t, d)
			expectTriggers(mock, d, "tokenauth_tokens", 1)
			alive, changed, alives, _ := record()
			err := s.Watch(ctx, alive, changed)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "revocation triggers are missing")
			assert.Zero(t, *alives)
		})
	}
	t.Run("the look-up of the triggers fails", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.SQLite)
		mock.ExpectQuery(countTriggersSQL[sqlstore.SQLite]).WillReturnError(errDown)
		alive, changed, alives, _ := record()
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Zero(t, *alives)
	})
	t.Run("the first read fails: no alive", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL("tokenauth_tokens", sqlstore.MySQL)).WillReturnError(errDown)
		alive, changed, alives, _ := record()
		assert.ErrorIs(t, s.Watch(ctx, alive, changed), errDown)
		assert.Zero(t, *alives)
	})
	t.Run("unreadable rows", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL("tokenauth_tokens", sqlstore.MySQL)).WillReturnRows(seqRows(3))
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(3).WillReturnRows(logRows().AddRow("four", "id", "u"))
		alive, changed, _, changes := record()
		assert.Error(t, s.Watch(ctx, alive, changed))
		assert.Empty(t, *changes)
	})
	t.Run("until ctx ends", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL("tokenauth_tokens", sqlstore.MySQL)).WillReturnRows(seqRows(3))
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(3).WillReturnRows(logRows().AddRow(4, "id-4", "u"))
		// The prune, with ctx already canceled, never reaches the driver.
		cctx, cancel := context.WithCancel(ctx)
		err := s.Watch(cctx, func() {}, func(string, string) { cancel() })
		assert.Equal(t, context.Canceled, err, "ctx's own error")
	})
}

func TestPollIntervalOption(t *testing.T) {
	db, _, err := sqlmock.New()
	require.NoError(t, err)
	defer db.Close()
	for _, d := range []time.Duration{-time.Second, time.Millisecond, 9 * time.Millisecond, time.Second + 1, time.Minute} {
		_, err := sqlstore.New(db, sqlstore.MySQL, sqlstore.Options{PollInterval: d})
		assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "PollInterval %v", d)
	}
	for _, d := range []time.Duration{0, 10 * time.Millisecond, time.Second} {
		_, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.Options{PollInterval: d})
		assert.NoError(t, err, "PollInterval %v", d)
	}
}
