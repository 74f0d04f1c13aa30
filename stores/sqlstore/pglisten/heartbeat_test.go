package pglisten_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"
)

const envPgBouncer = "TOKENAUTH_TEST_PGBOUNCER_DSN"

// session runs one Listen until the end of the test, and records what it
// calls, in order: "ready", or the payload given to notify.
type session struct {
	channel string
	done    chan struct{} // closed when Listen has returned err
	err     error
	ended   time.Time

	mu     sync.Mutex
	events []string
	readys []time.Time
	// slow, when set, is called in notify before the payload is recorded.
	slow func(payload string)
}

// listen starts l.Listen on channel and waits for its first ready.
func listen(t *testing.T, l *pglisten.Listener, channel string, slow func(string)) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{channel: channel, done: make(chan struct{}), slow: slow}
	go func() {
		defer close(s.done)
		s.err = s.listen(ctx, l)
		s.ended = time.Now()
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
			return // it ended on its own; the test checked why
		default:
		}
		cancel()
		select {
		case <-s.done:
			assert.ErrorIs(t, s.err, context.Canceled, "Listen returns its context's error")
		case <-time.After(5 * time.Second):
			t.Error("Listen did not return after its context was canceled")
		}
	})
	deadline := time.After(10 * time.Second)
	for s.readies() == 0 {
		select {
		case <-s.done:
			t.Fatalf("Listen returned before ready: %v", s.err)
		case <-deadline:
			t.Fatal("Listen did not call ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s
}

func (s *session) listen(ctx context.Context, l *pglisten.Listener) error {
	return l.Listen(ctx, s.channel, func() {
		s.mu.Lock()
		s.events = append(s.events, "ready")
		s.readys = append(s.readys, time.Now())
		s.mu.Unlock()
	}, func(payload string) {
		if s.slow != nil {
			s.slow(payload)
		}
		s.mu.Lock()
		s.events = append(s.events, payload)
		s.mu.Unlock()
	})
}

func (s *session) readies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readys)
}

// nextReady waits for a ready after the n-th.
func (s *session) nextReady(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for s.readies() <= n {
		select {
		case <-s.done:
			t.Fatalf("Listen returned: %v", s.err)
		case <-deadline:
			t.Fatal("no ready within 5 s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// payloads returns what reached notify.
func (s *session) payloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p []string
	for _, e := range s.events {
		if e != "ready" {
			p = append(p, e)
		}
	}
	return p
}

// waitEnd waits up to limit for Listen to return, and returns how long it
// took after since.
func (s *session) waitEnd(t *testing.T, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	select {
	case <-s.done:
		require.Error(t, s.err)
		assert.NotErrorIs(t, s.err, context.Canceled)
		return s.ended.Sub(since)
	case <-time.After(limit):
		t.Fatalf("Listen still runs %v later", limit)
		return 0
	}
}

func newChannel() string { return "pglisten_test_" + tok16() }

func quartiles(ds []time.Duration) string {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %v, median %v, max %v over %d", r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1]), len(ds))
}

// While the channel holds, ready comes twice a second, and only
// what others send reaches notify: no heartbeat, this Listen's or another
// replica's, nor a payload forged to look like one.
func TestListenConfirmsDeliveryTwiceASecond(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	l, err := pglisten.New(dsn)
	require.NoError(t, err)
	channel := newChannel()
	s := listen(t, l, channel, nil)
	listen(t, l, channel, nil) // another replica, heartbeating on the same channel
	sent := []string{"", "a", `["id-1","user-1"]`, pglisten.HeartbeatPrefix + "0123456789abcdef:1", "pglisten:heartbeat", "b"}
	for _, p := range sent {
		_, err := db.Exec("SELECT pg_notify($1, $2)", channel, p)
		require.NoError(t, err)
		time.Sleep(300 * time.Millisecond) // spread over the heartbeats
	}
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-s.done:
		t.Fatalf("Listen returned: %v", s.err)
	default:
	}
	assert.Equal(t, []string{"", "a", `["id-1","user-1"]`, "pglisten:heartbeat", "b"}, s.payloads())

	s.mu.Lock()
	readys := slices.Clone(s.readys)
	s.mu.Unlock()
	assert.GreaterOrEqual(t, len(readys), 5, "about two readies a second over %v", readys[len(readys)-1].Sub(readys[0]))
	var gaps []time.Duration
	for i := 1; i < len(readys); i++ {
		gaps = append(gaps, readys[i].Sub(readys[i-1]))
	}
	for _, g := range gaps {
		assert.Less(t, g, time.Second, "ready at least once a second")
	}
	t.Logf("gaps between readies: %s", quartiles(gaps))
}

// A connection that freezes (open, nothing moving either way) ends Listen
// within about 2 s, whenever it freezes between two heartbeats: both
// connections (the heartbeat's NOTIFY is not answered, or, sent just
// before, does not come back), or the listening one alone (the heartbeat
// does not come back).
func TestListenNoticesAFrozenConnection(t *testing.T) {
	dsn := postgresDSN(t)
	for _, tc := range []struct {
		name, frozen string
		split        bool // heartbeats sent around the proxy
		want         string
	}{
		{"both connections", "a frozen connection", false, "pglisten: heartbeat: "},
		{"the listening connection alone", "a listening connection that stopped delivering", true, "stopped delivering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var took []time.Duration
			const rounds = 4
			for i := range rounds {
				proxied, p := throughProxy(t, dsn)
				l, err := pglisten.New(proxied)
				require.NoError(t, err)
				if tc.split {
					require.NoError(t, pglisten.SendThrough(l, dsn))
				}
				s := listen(t, l, newChannel(), nil)
				s.nextReady(t, s.readies())
				time.Sleep(time.Duration(i) * 500 * time.Millisecond / rounds) // a heartbeat's period
				p.Freeze()
				d := s.waitEnd(t, time.Now(), 10*time.Second)
				assert.Less(t, d, 3*time.Second)
				assert.Contains(t, s.err.Error(), tc.want)
				took = append(took, d)
				if i == 0 {
					t.Logf("Listen's error: %v", s.err)
				}
			}
			t.Logf("%s ended Listen after: %s", tc.frozen, quartiles(took))
		})
	}
}

// A burst that takes seconds to drain (a purge deleting many rows) does
// not end Listen while it drains: heartbeats wait behind it, and no ready
// comes between its first and last notification, since a heartbeat sent
// after the burst's commit comes back after all of it.
func TestListenWaitsForABacklogToDrain(t *testing.T) {
	dsn := postgresDSN(t)
	db := openDB(t, dsn)
	l, err := pglisten.New(dsn)
	require.NoError(t, err)
	channel := newChannel()
	s := listen(t, l, channel, func(p string) {
		if strings.HasPrefix(p, "burst-") {
			time.Sleep(time.Millisecond)
		}
	})
	const n = 2000
	start := time.Now()
	_, err = db.Exec("SELECT pg_notify($1, 'burst-' || i) FROM generate_series(1, $2::int) AS i", channel, n)
	require.NoError(t, err)
	deadline := time.After(20 * time.Second)
	for len(s.payloads()) < n {
		select {
		case <-s.done:
			t.Fatalf("Listen returned while the burst drained: %v", s.err)
		case <-deadline:
			t.Fatalf("only %d of %d notifications in 20 s", len(s.payloads()), n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	drained := time.Since(start)
	after := s.readies()
	s.nextReady(t, after-1) // the ready after the burst (it may have come already)
	s.mu.Lock()
	events := slices.Clone(s.events)
	s.mu.Unlock()
	first, last := slices.Index(events, "burst-1"), slices.Index(events, fmt.Sprint("burst-", n))
	require.True(t, first >= 0 && last > first, "the burst arrives in order")
	assert.NotContains(t, events[first:last], "ready", "no ready while the burst drains")
	for i, e := range events[first : last+1] {
		if e != fmt.Sprint("burst-", i+1) {
			t.Fatalf("notification %d is %q", i+1, e)
		}
	}
	assert.Greater(t, drained, 1500*time.Millisecond, "the burst outlasts a heartbeat's 1 s bound, or this test proves nothing")
	t.Logf("a burst of %d notifications drained in %v without ending Listen", n, drained.Round(time.Millisecond))
}

// Through PgBouncer in transaction mode LISTEN succeeds and nothing is
// ever delivered: Listen says so within seconds, with an error that wraps
// errors.ErrUnsupported, and never calls ready. Watch passes it on.
func TestListenThroughPgBouncerInTransactionMode(t *testing.T) {
	bouncer := os.Getenv(envPgBouncer)
	if bouncer == "" {
		t.Skipf("PgBouncer test skipped: set %s to a PgBouncer in transaction mode in front of the test database (.ci/pgbouncer.sh start prints it)", envPgBouncer)
	}
	postgresDSN(t) // skips without a database
	l, err := pglisten.New(bouncer)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = l.Listen(ctx, newChannel(), func() { t.Error("ready through PgBouncer in transaction mode") }, func(p string) {
		t.Errorf("notify(%q) through PgBouncer in transaction mode", p)
	})
	took := time.Since(start)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Contains(t, err.Error(), "PgBouncer in transaction mode")
	assert.Contains(t, err.Error(), "session-mode")
	assert.Less(t, took, 6*time.Second)
	t.Logf("Listen through PgBouncer refused after %v: %v", took.Round(time.Millisecond), err)

	// sqlstore's Watch falls back to polling its revocation log, which
	// works through the pooler: a revocation made by another process
	// reaches it within the poll interval.
	// Through the pooler in transaction mode, prepared statements need
	// PgBouncer 1.21 or the simple protocol (a DSN setting pgx reads).
	s := newStore(t, openDB(t, bouncer+"&default_query_exec_mode=simple_protocol"), bouncer)
	alive, changes := make(chan struct{}, 100), make(chan string, 100)
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() {
		watched <- s.Watch(wctx, func() {
			select {
			case alive <- struct{}{}:
			default:
			}
		}, func(id, _ string) { changes <- id })
	}()
	defer func() { stop(); <-watched }()
	select {
	case <-alive:
	case err := <-watched:
		t.Fatalf("Watch through PgBouncer ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Watch through PgBouncer never confirmed by polling")
	}
	assert.Equal(t, sqlstore.WatchPoll, s.WatchMode())
	tok := newToken("user-bouncer")
	require.NoError(t, s.Create(ctx, tok))
	revoked := time.Now()
	require.NoError(t, s.Delete(ctx, tok.ID))
	select {
	case id := <-changes:
		assert.Equal(t, tok.ID, id)
		lag := time.Since(revoked)
		assert.Less(t, lag, 250*time.Millisecond+time.Second, "within the poll interval (+ a loaded machine's margin)")
		t.Logf("behind PgBouncer, Watch polls: a revocation heard after %v (poll interval 250ms, the default)", lag.Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("a revocation behind PgBouncer was not heard")
	}
}
