package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
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
// calls ready, delivers payloads, then returns err (or waits for ctx when
// err is nil and wait is set).
type fakeListener struct {
	channel  string
	payloads []string
	err      error
	wait     bool
}

func (l *fakeListener) Listen(ctx context.Context, channel string, ready func(), notify func(string)) error {
	l.channel = channel
	ready()
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
func record() (ready func(), changed func(string, string), readied *bool, changes *[]change) {
	readied, changes = new(bool), new([]change)
	return func() { *readied = true }, func(id, user string) { *changes = append(*changes, change{id, user}) }, readied, changes
}

// countTriggersSQL counts the table's revocation triggers, on each dialect.
var countTriggersSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = CAST($1 AS text)::regclass AND tgname IN ($2, $3)",
	sqlstore.MySQL: "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()" +
		" AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?, ?)",
	sqlstore.SQLite: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name IN (?, ?)",
}

// expectTriggers expects Watch's look-up of the triggers of table, which
// finds n of them.
func expectTriggers(mock sqlmock.Sqlmock, d sqlstore.Dialect, table string, n int) {
	arg := table
	if d == sqlstore.Postgres {
		arg = `"` + table + `"`
	}
	mock.ExpectQuery(countTriggersSQL[d]).WithArgs(arg, table+"_on_delete", table+"_on_expire").WillReturnRows(count(n))
}

// newPostgresMock returns a Store on PostgreSQL over l, whose triggers
// Watch finds.
func newPostgresMock(t *testing.T, l sqlstore.Listener) *sqlstore.Store {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, mock.ExpectationsWereMet())
		db.Close()
	})
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.Options{Table: "api_tokens", Listener: l})
	require.NoError(t, err)
	if l != nil {
		expectTriggers(mock, sqlstore.Postgres, "api_tokens", 2)
	}
	return s
}

func TestWatchPostgres(t *testing.T) {
	ctx := context.Background()
	t.Run("without a Listener it cannot", func(t *testing.T) {
		s := newPostgresMock(t, nil)
		ready, changed, readied, _ := record()
		err := s.Watch(ctx, ready, changed)
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		assert.Contains(t, err.Error(), "pglisten")
		assert.False(t, *readied)
	})
	t.Run("the trigger's payloads are changes; others are skipped", func(t *testing.T) {
		l := &fakeListener{payloads: []string{
			`["id-1","user-1"]`,
			`["id with \"quotes\" and spaces","user 2"]`,
			"", "id-3 user-3", `["only one"]`, `["a","b","c"]`, `{"id":"x"}`, `[1,2]`,
			`["id-4",""]`,
		}, err: errDown}
		s := newPostgresMock(t, l)
		ready, changed, readied, changes := record()
		err := s.Watch(ctx, ready, changed)
		assert.ErrorIs(t, err, errDown)
		assert.Equal(t, "sqlstore: watch: "+errDown.Error(), err.Error())
		assert.Equal(t, "api_tokens_revocations", l.channel)
		assert.True(t, *readied)
		assert.Equal(t, []change{{"id-1", "user-1"}, {`id with "quotes" and spaces`, "user 2"}, {"id-4", ""}}, *changes)
	})
	t.Run("until ctx ends", func(t *testing.T) {
		s := newPostgresMock(t, &fakeListener{wait: true})
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		err := s.Watch(cctx, func() {}, func(string, string) {})
		assert.Equal(t, context.DeadlineExceeded, err, "ctx's own error")
	})
	t.Run("a table without the triggers cannot be watched", func(t *testing.T) {
		db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
		require.NoError(t, err)
		defer db.Close()
		l := &fakeListener{wait: true}
		s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.Options{Listener: l})
		require.NoError(t, err)
		expectTriggers(mock, sqlstore.Postgres, "tokenauth_tokens", 0)
		ready, changed, readied, _ := record()
		err = s.Watch(ctx, ready, changed)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "revocation triggers are missing")
		assert.False(t, *readied)
		assert.Empty(t, l.channel, "no LISTEN")
		assert.NoError(t, mock.ExpectationsWereMet())
	})
	t.Run("a listener that returns nil while ctx lives is an error", func(t *testing.T) {
		s := newPostgresMock(t, &fakeListener{})
		err := s.Watch(ctx, func() {}, func(string, string) {})
		require.Error(t, err)
		assert.NotErrorIs(t, err, context.Canceled)
	})
}

// The revocation log's statements on each polling dialect.
var (
	logTailSQL = map[sqlstore.Dialect]string{
		sqlstore.MySQL:  "SELECT seq FROM `tokenauth_tokens_revocations` ORDER BY seq DESC LIMIT 100",
		sqlstore.SQLite: `SELECT seq FROM "tokenauth_tokens_revocations" ORDER BY seq DESC LIMIT 100`,
	}
	logPollSQL = map[sqlstore.Dialect]string{
		sqlstore.MySQL:  "SELECT seq, token_id, user_id FROM `tokenauth_tokens_revocations` WHERE seq > ?",
		sqlstore.SQLite: `SELECT seq, token_id, user_id FROM "tokenauth_tokens_revocations" WHERE seq > ?`,
	}
)

// pollSQL is a poll's statement, waiting for gaps missing numbers.
func pollSQL(d sqlstore.Dialect, gaps int) string {
	return logPollSQL[d] + strings.Repeat(" OR seq BETWEEN ? AND ?", gaps) + " ORDER BY seq LIMIT 1000"
}

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

func TestWatchPolls(t *testing.T) {
	ctx := context.Background()
	for _, d := range []sqlstore.Dialect{sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			s, mock := newPollMock(t, d)
			// The newest rows are 4, 5 and 7: the cursor starts after 7 and
			// waits for 6, whose transaction may not have committed.
			expectTriggers(mock, d, "tokenauth_tokens", 2)
			mock.ExpectQuery(logTailSQL[d]).WillReturnRows(seqRows(7, 5, 4))
			mock.ExpectQuery(pollSQL(d, 1)).WithArgs(7, 6, 6).WillReturnRows(logRows().
				AddRow(6, []byte("id-6"), []byte("user-a")).
				AddRow(8, "id-8", "user-b").
				AddRow(10, "id-10", "user-a"))
			expectPrune(mock, d, 2, 3, 10, 2)
			// Now 9 is missing; a row read before is not a change again.
			mock.ExpectQuery(pollSQL(d, 1)).WithArgs(10, 9, 9).WillReturnRows(logRows().
				AddRow(9, "id-9", "user-c"))
			mock.ExpectQuery(pollSQL(d, 0)).WithArgs(10).WillReturnError(errDown)

			ready, changed, readied, changes := record()
			err := s.Watch(ctx, ready, changed)
			assert.ErrorIs(t, err, errDown)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: watch: "))
			assert.True(t, *readied)
			assert.Equal(t, []change{{"id-6", "user-a"}, {"id-8", "user-b"}, {"id-10", "user-a"}, {"id-9", "user-c"}}, *changes)
		})
	}
	t.Run("an empty log", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.SQLite)
		expectTriggers(mock, sqlstore.SQLite, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL[sqlstore.SQLite]).WillReturnRows(seqRows())
		mock.ExpectQuery(pollSQL(sqlstore.SQLite, 0)).WithArgs(0).WillReturnRows(logRows().AddRow(1, "id-1", "u"))
		pruneBounds(mock, sqlstore.SQLite, 0, 0, 0).WillReturnError(errDown)
		mock.ExpectQuery(pollSQL(sqlstore.SQLite, 0)).WithArgs(1).WillReturnError(errDown)
		ready, changed, _, changes := record()
		assert.ErrorIs(t, s.Watch(ctx, ready, changed), errDown, "a failed prune does not end Watch; the next poll's failure does")
		assert.Equal(t, []change{{"id-1", "u"}}, *changes)
	})
	t.Run("a full read is followed by another at once", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		full := logRows()
		for i := int64(1); i <= 1000; i++ {
			full.AddRow(i, fmt.Sprint("id-", i), "u")
		}
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL[sqlstore.MySQL]).WillReturnRows(seqRows())
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(0).WillReturnRows(full)
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(1000).WillReturnRows(logRows().AddRow(1001, "id-1001", "u"))
		expectPrune(mock, sqlstore.MySQL, nil, 1, 1001, 0)
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(1001).WillReturnError(errDown)
		ready, changed, _, changes := record()
		assert.ErrorIs(t, s.Watch(ctx, ready, changed), errDown)
		assert.Len(t, *changes, 1001)
	})
	for _, d := range []sqlstore.Dialect{sqlstore.MySQL, sqlstore.SQLite} {
		t.Run(d.String()+": a table without the triggers cannot be watched", func(t *testing.T) {
			s, mock := newPollMock(t, d)
			expectTriggers(mock, d, "tokenauth_tokens", 1)
			ready, changed, readied, _ := record()
			err := s.Watch(ctx, ready, changed)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "revocation triggers are missing")
			assert.False(t, *readied)
		})
	}
	t.Run("the look-up of the triggers fails", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.SQLite)
		mock.ExpectQuery(countTriggersSQL[sqlstore.SQLite]).WillReturnError(errDown)
		ready, changed, readied, _ := record()
		assert.ErrorIs(t, s.Watch(ctx, ready, changed), errDown)
		assert.False(t, *readied)
	})
	t.Run("the first read fails: no ready", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL[sqlstore.MySQL]).WillReturnError(errDown)
		ready, changed, readied, _ := record()
		assert.ErrorIs(t, s.Watch(ctx, ready, changed), errDown)
		assert.False(t, *readied)
	})
	t.Run("unreadable rows", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL[sqlstore.MySQL]).WillReturnRows(seqRows(3))
		mock.ExpectQuery(pollSQL(sqlstore.MySQL, 0)).WithArgs(3).WillReturnRows(logRows().AddRow("four", "id", "u"))
		ready, changed, _, changes := record()
		assert.Error(t, s.Watch(ctx, ready, changed))
		assert.Empty(t, *changes)
	})
	t.Run("until ctx ends", func(t *testing.T) {
		s, mock := newPollMock(t, sqlstore.MySQL)
		expectTriggers(mock, sqlstore.MySQL, "tokenauth_tokens", 2)
		mock.ExpectQuery(logTailSQL[sqlstore.MySQL]).WillReturnRows(seqRows(3))
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
	for _, d := range []time.Duration{-time.Second, time.Millisecond, 9 * time.Millisecond} {
		_, err := sqlstore.New(db, sqlstore.MySQL, sqlstore.Options{PollInterval: d})
		assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "PollInterval %v", d)
	}
	for _, d := range []time.Duration{0, 10 * time.Millisecond, time.Second} {
		_, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.Options{PollInterval: d})
		assert.NoError(t, err, "PollInterval %v", d)
	}
}
