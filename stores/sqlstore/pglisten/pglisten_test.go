package pglisten_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

const envPostgres = "TOKENAUTH_TEST_POSTGRES_DSN"

func TestNewRejectsAnUnreadableConnectionString(t *testing.T) {
	for _, dsn := range []string{
		"postgres://app:s3cret@db:notaport/app",
		"postgres://app:s3cret@db/app?sslmode=sometimes",
		"host=db password=s3cret connect_timeout=soon",
	} {
		l, err := pglisten.New(dsn)
		assert.Nil(t, l)
		require.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
		assert.NotContains(t, err.Error(), "s3cret")
		assert.NotContains(t, err.Error(), "db")
	}
	l, err := pglisten.New("postgres://app:s3cret@db.internal:5432/app?sslmode=disable")
	require.NoError(t, err, "New only parses: it does not connect")
	assert.NotNil(t, l)
}

// postgresDSN returns the test server's DSN, or skips.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL integration tests skipped: set %s to a test database's DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envPostgres)
	}
	return dsn
}

// openDB opens another pool on dsn, closed at the end of the test.
func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqlstore.DriverPostgres, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newStore returns a store over a fresh, migrated table that watches
// through a Listener on listenDSN; the table and its trigger function are
// dropped at the end of the test.
func newStore(t *testing.T, db *sql.DB, listenDSN string) *sqlstore.Store {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	table := "tokenauth_test_" + hex.EncodeToString(b[:])
	l, err := pglisten.New(listenDSN)
	require.NoError(t, err)
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.Options{Table: table, Listener: l})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, q := range []string{
			`DROP TABLE IF EXISTS "` + table + `"`, `DROP FUNCTION IF EXISTS "` + table + `_notify"()`,
			`DROP TABLE IF EXISTS "` + table + `_revocations"`, `DROP TABLE IF EXISTS "` + table + `_cutoffs"`, `DROP TABLE IF EXISTS "` + table + `_imports"`,
		} {
			_, err := db.ExecContext(context.Background(), q)
			assert.NoError(t, err)
		}
	})
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// The behavioural suites through the Listener.
func TestStore(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store { return newStore(t, db, dsn) })
}

func TestWatcher(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	tokenauthtest.RunWatcherTests(t, func(t *testing.T) tokenauth.Store { return newStore(t, db, dsn) })
}

// watcher runs Watch until the end of the test, and collects its changes.
type watcher struct {
	changes chan [2]string
	done    chan struct{} // closed when Watch has returned err
	err     error
}

func watch(t *testing.T, s *sqlstore.Store) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{changes: make(chan [2]string, 1000), done: make(chan struct{})}
	ready := make(chan struct{})
	var once sync.Once // ready is called again after each heartbeat
	go func() {
		defer close(w.done)
		w.err = s.Watch(ctx, func() { once.Do(func() { close(ready) }) }, func(id, user string) { w.changes <- [2]string{id, user} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context was canceled")
		}
	})
	select {
	case <-ready:
	case <-w.done:
		t.Fatalf("Watch returned before ready: %v", w.err)
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not call ready")
	}
	return w
}

// waitFor returns how long after start the watcher saw id change.
func (w *watcher) waitFor(t *testing.T, id string, start time.Time) time.Duration {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ch := <-w.changes:
			if ch[0] == id {
				return time.Since(start)
			}
		case <-w.done:
			t.Fatalf("Watch returned %v", w.err)
		case <-timeout:
			t.Fatalf("no change of %s within 5 s", id)
		}
	}
}

func newToken(userID string) *tokenauth.Token {
	var id, digest [16]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(digest[:])
	return &tokenauth.Token{
		ID: hex.EncodeToString(id[:]), UserID: userID, CreatedAt: time.Now(),
		ExpiresAt: time.Now().Add(time.Hour), Digest: digest[:],
	}
}

// A revocation reaches a watcher within a second (the issue asks for
// 100 ms at the 99th percentile; the log shows what this machine does),
// whoever makes it: this store, or plain SQL on another connection.
func TestWatchSeesEveryRevocation(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	s := newStore(t, db, dsn)
	other := openDB(t, dsn)
	ctx := context.Background()
	// Another replica: its own pool and listener on the same table.
	l, err := pglisten.New(dsn)
	require.NoError(t, err)
	replica, err := sqlstore.New(other, sqlstore.Postgres, sqlstore.Options{Table: s.Table(), Listener: l})
	require.NoError(t, err)
	watchers := []*watcher{watch(t, s), watch(t, replica)}
	table := s.Table()
	const rounds = 20
	for _, tc := range []struct {
		name string
		do   func(tok *tokenauth.Token) error
	}{
		{"Delete", func(tok *tokenauth.Token) error { return s.Delete(ctx, tok.ID) }},
		{"DeleteUser", func(tok *tokenauth.Token) error { _, err := s.DeleteUser(ctx, tok.UserID, time.Now()); return err }},
		{"Expire", func(tok *tokenauth.Token) error { return s.Expire(ctx, tok.ID, time.Now()) }},
		{"DELETE on another connection", func(tok *tokenauth.Token) error {
			_, err := other.ExecContext(ctx, `DELETE FROM "`+table+`" WHERE id = $1`, tok.ID)
			return err
		}},
		{"UPDATE expires_at on another connection", func(tok *tokenauth.Token) error {
			_, err := other.ExecContext(ctx, `UPDATE "`+table+`" SET expires_at = now() WHERE id = $1`, tok.ID)
			return err
		}},
		{"UPDATE max_expires_at on another connection", func(tok *tokenauth.Token) error {
			_, err := other.ExecContext(ctx, `UPDATE "`+table+`" SET max_expires_at = now() + interval '1 minute' WHERE id = $1`, tok.ID)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lat []time.Duration
			for range rounds {
				tok := newToken("user-" + tok16())
				require.NoError(t, s.Create(ctx, tok))
				start := time.Now()
				require.NoError(t, tc.do(tok))
				for _, w := range watchers {
					d := w.waitFor(t, tok.ID, start)
					assert.Less(t, d, time.Second)
					lat = append(lat, d)
				}
			}
			slices.Sort(lat)
			t.Logf("PostgreSQL, %s: latency over %d revocations seen by 2 watchers: median %v, p95 %v, max %v",
				tc.name, rounds, lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
		})
	}
	t.Run("Touch is not a revocation", func(t *testing.T) {
		tok := newToken("user-touch")
		require.NoError(t, s.Create(ctx, tok))
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: tok.ID, LastUsed: time.Now(), ExpiresAt: time.Now().Add(2 * time.Hour)}}))
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: tok.ID, LastUsed: time.Now(), ExpiresAt: time.Now().Add(3 * time.Hour)}}))
		marker := newToken("user-marker")
		require.NoError(t, s.Create(ctx, marker))
		require.NoError(t, s.Delete(ctx, marker.ID))
		for _, w := range watchers {
			select {
			case ch := <-w.changes:
				assert.Equal(t, [2]string{marker.ID, marker.UserID}, ch, "the first change after the touches is the marker's deletion")
			case <-time.After(5 * time.Second):
				t.Fatal("no change")
			}
		}
	})
}

func tok16() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// throughProxy returns dsn with its host replaced by a proxy to it.
func throughProxy(t *testing.T, dsn string) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	target := u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	p, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	return u.String(), p
}

// Watch ends with an error, not a hang, when its connection fails: the
// caller then knows it may have missed revocations.
func TestWatchEndsWhenTheConnectionFails(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	ctx := context.Background()

	t.Run("cut", func(t *testing.T) {
		proxied, p := throughProxy(t, dsn)
		s := newStore(t, db, proxied)
		w := watch(t, s)
		tok := newToken("user-1")
		require.NoError(t, s.Create(ctx, tok))
		require.NoError(t, s.Delete(ctx, tok.ID))
		w.waitFor(t, tok.ID, time.Now())
		p.Cut()
		start := time.Now()
		select {
		case <-w.done:
			err := w.err
			require.Error(t, err)
			assert.NotErrorIs(t, err, context.Canceled)
			t.Logf("Watch %v after the cut: %v", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not return after its connection was cut")
		}
	})
	t.Run("refused", func(t *testing.T) {
		proxied, p := throughProxy(t, dsn)
		s := newStore(t, db, proxied)
		p.Cut()
		readied := false
		err := s.Watch(ctx, func() { readied = true }, func(string, string) {})
		require.Error(t, err)
		assert.False(t, readied, "ready is called only once subscribed")
	})
	t.Run("silent", func(t *testing.T) {
		proxied, p := throughProxy(t, dsn)
		s := newStore(t, db, proxied)
		w := watch(t, s)
		// Heartbeats pass; the connection still delivers.
		time.Sleep(1500 * time.Millisecond)
		tok := newToken("user-1")
		require.NoError(t, s.Create(ctx, tok))
		require.NoError(t, s.Delete(ctx, tok.ID))
		w.waitFor(t, tok.ID, time.Now())
		// Now everything takes 2 s each way, without closing anything.
		p.SetLatency(2 * time.Second)
		start := time.Now()
		select {
		case <-w.done:
			err := w.err
			require.Error(t, err)
			assert.NotErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 3*time.Second)
			t.Logf("Watch %v after the connection went slow: %v", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(10 * time.Second):
			t.Fatal("Watch did not notice a silent connection")
		}
		p.SetLatency(0)
	})
}

// A notification that the trigger did not send (someone's NOTIFY on the
// channel) names no token and is skipped.
func TestWatchSkipsForeignPayloads(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	s := newStore(t, db, dsn)
	w := watch(t, s)
	ctx := context.Background()
	for _, payload := range []string{"", "hello", `["only one"]`, `{"id":"x"}`, `["a","b","c"]`} {
		_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", s.Table()+"_revocations", payload)
		require.NoError(t, err)
	}
	tok := newToken("user-1")
	require.NoError(t, s.Create(ctx, tok))
	require.NoError(t, s.Delete(ctx, tok.ID))
	select {
	case ch := <-w.changes:
		assert.Equal(t, [2]string{tok.ID, "user-1"}, ch)
	case <-time.After(5 * time.Second):
		t.Fatal("no change")
	}
}
