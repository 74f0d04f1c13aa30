// Package pglisten lets sqlstore.Store.Watch hear PostgreSQL's
// notifications, over pgx connections of its own: database/sql cannot
// LISTEN, and package sqlstore imports no driver. Hosts on MySQL or SQLite
// need neither this package nor pgx.
//
//	l, err := pglisten.New(dsn)
//	if err != nil { ... }
//	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Listener: l})
//	cache, err := cachestore.New(store, cachestore.Options{}) // watches through it
//
// A LISTEN that seems to work proves nothing: a connection can freeze
// with its socket open, and behind PgBouncer in transaction mode LISTEN
// succeeds but nothing is ever delivered. So Listen proves delivery end to
// end with a heartbeat: twice a second it NOTIFYs the channel from a
// second connection and waits for that notification on the listening one.
// The first proof comes before ready, each later one calls ready again,
// and heartbeats never reach notify. Measured against PostgreSQL 15 on
// loopback: ready every 0.50 s; a frozen connection ended Listen after
// 1.55-2.01 s (median 1.87 s), a listening connection that stopped
// delivering after 1.62-2.00 s; through PgBouncer 1.18 in transaction
// mode Listen failed after 3.0 s with an error wrapping
// errors.ErrUnsupported.
package pglisten

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/go-tokenauth/tokenauth"
)

// connectTimeout bounds connecting and subscribing, so that a server that
// does not answer ends Listen with an error instead of a hang.
const connectTimeout = 10 * time.Second

// Listener is a sqlstore.Listener over pgx: each Listen opens two
// connections, one that LISTENs and one that sends the heartbeats. It is
// safe for concurrent use; each Listen has connections of its own.
type Listener struct {
	config *pgx.ConnConfig
	// sender, when set, is where heartbeats are sent from instead of
	// config: tests freeze the listening connection alone.
	sender *pgx.ConnConfig
}

// New returns a Listener that connects with connString, a postgres:// URL
// or key=value DSN as pgx reads them (the DSN sqlstore.Open is given). It
// must reach PostgreSQL itself or a pooler in session mode: through
// PgBouncer's transaction mode LISTEN delivers nothing, and Listen says so
// (see Listen). An invalid connString is an error wrapping
// tokenauth.ErrInvalidOptions, which does not quote it.
func New(connString string) (*Listener, error) {
	config, err := pgx.ParseConfig(connString)
	if err != nil {
		// pgx's error quotes the connection string, with the password
		// masked; keep all of it out.
		return nil, fmt.Errorf("pglisten: unreadable connection string: %w", tokenauth.ErrInvalidOptions)
	}
	return &Listener{config: config}, nil
}

// Listen implements sqlstore.Listener. It connects within 10 s, LISTENs to
// channel, and proves delivery with a first heartbeat before it calls
// ready; then it calls notify with each notification's payload, and ready
// again after each heartbeat that comes back (every 0.5 s), until ctx
// ends (it returns ctx's error) or the channel fails. Heartbeats, this
// Listen's and other replicas', never reach notify.
//
// When ready is called, every notification committed before that
// heartbeat was sent has been passed to notify: PostgreSQL delivers in
// commit order.
//
// It returns an error when the channel fails: at once when a connection
// breaks; within about 2 s when one freezes or the server stops
// delivering (a heartbeat not back within 1.5 s while nothing else
// arrives). While other notifications keep arriving ahead of it (a
// purge's burst draining) a heartbeat may take up to 10 s, with no ready
// meanwhile. When the first heartbeat is not back within 3 s although the
// connection still answers, or the server rejects LISTEN or NOTIFY as
// unsupported, the error wraps errors.ErrUnsupported and says why:
// PgBouncer in transaction mode, or a database without LISTEN/NOTIFY.
// Retrying cannot help; polling can.
func (l *Listener) Listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	listening, err := pgx.ConnectConfig(cctx, l.config)
	if err != nil {
		return listenError(ctx, "connect", err)
	}
	defer closeConn(listening)
	senderConfig := l.config
	if l.sender != nil {
		senderConfig = l.sender
	}
	sending, err := pgx.ConnectConfig(cctx, senderConfig)
	if err != nil {
		return listenError(ctx, "connect the heartbeat's sender", err)
	}
	defer closeConn(sending)
	if _, err := listening.Exec(cctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return listenError(ctx, "listen", unsupported(err))
	}
	// The listening session sends no query of its own, so the server
	// would count it idle: an idle_session_timeout (PostgreSQL 14) would
	// end it. Older servers do not know the setting.
	if _, err := listening.Exec(cctx, "SET idle_session_timeout = 0"); err != nil && !isCode(err, "42704") {
		return listenError(ctx, "listen", err)
	}
	if err := sameSession(cctx, listening, sending); err != nil {
		return listenError(ctx, "listen", err)
	}
	cancel()
	h, err := newHeartbeat(listening, sending, channel)
	if err != nil {
		return listenError(ctx, "heartbeat", err)
	}
	return h.run(ctx, ready, notify)
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = c.Close(ctx)
	cancel()
}

// errUndelivered is Listen's error when LISTEN is accepted but delivers
// nothing. It wraps errors.ErrUnsupported so that a watcher can tell it
// from an outage: retrying cannot help, polling can.
var errUndelivered = fmt.Errorf("LISTEN does not deliver notifications on this connection (PgBouncer in transaction mode, "+
	"or a database without LISTEN/NOTIFY): use a direct or session-mode connection for the listener: %w", errors.ErrUnsupported)

// unsupported adds errUndelivered to err when the server rejected a
// statement as not supported (SQLSTATE 0A000, as CockroachDB rejects
// LISTEN).
func unsupported(err error) error {
	if isCode(err, "0A000") {
		return fmt.Errorf("%w: %w", err, errUndelivered)
	}
	return err
}

// sameSession makes sure that listening keeps one server session of its
// own, as LISTEN needs: its backend's PID must stay the same from one
// statement to the next, and differ from the sender's. A pooler in
// transaction mode that happens to route both clients, or every statement,
// to one server connection passes the heartbeat by accident (the
// notification lands on the session that sent it); this catches it.
func sameSession(ctx context.Context, listening, sending *pgx.Conn) error {
	var before, sender, after uint32
	for _, q := range []struct {
		conn *pgx.Conn
		pid  *uint32
	}{{listening, &before}, {sending, &sender}, {listening, &after}} {
		// The simple protocol: no prepared statement, which two clients on
		// one pooled server session would both try to create.
		if err := q.conn.QueryRow(ctx, "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(q.pid); err != nil {
			return unsupported(err)
		}
	}
	if before != after || sender == before {
		return fmt.Errorf("the listening connection has no server session of its own: %w", errUndelivered)
	}
	return nil
}

// isCode reports whether err is the server's error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// listenError is ctx's error when ctx ended, and otherwise err.
func listenError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("pglisten: %s: %w", op, err)
}
