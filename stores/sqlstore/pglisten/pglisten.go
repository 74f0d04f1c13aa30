// Package pglisten lets sqlstore.Store.Watch hear PostgreSQL's
// notifications, over a pgx connection of its own: database/sql cannot
// LISTEN, and package sqlstore imports no driver. Hosts on MySQL or SQLite
// need neither this package nor pgx.
//
//	l, err := pglisten.New(dsn)
//	if err != nil { ... }
//	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Listener: l})
//	cache, err := cachestore.New(store, cachestore.Options{}) // watches through it
package pglisten

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/go-tokenauth/tokenauth"
)

// Bounds of one Listen. Variables so that tests can shorten them.
var (
	// connectTimeout bounds connecting and subscribing, so that a server
	// that does not answer ends Listen with an error instead of a hang.
	connectTimeout = 10 * time.Second
	// heartbeat is how long Listen waits for a notification before it
	// pings the server: a connection lost without a reset (a silent
	// network partition) shows within heartbeat + pingTimeout.
	heartbeat   = 30 * time.Second
	pingTimeout = 10 * time.Second
)

// Listener is a sqlstore.Listener over pgx: each Listen opens a
// connection, LISTENs, and waits for notifications on it. It is safe for
// concurrent use; each Listen has a connection of its own.
type Listener struct {
	config *pgx.ConnConfig
}

// New returns a Listener that connects with connString, a postgres:// URL
// or key=value DSN as pgx reads them (the DSN sqlstore.Open is given). It
// must reach PostgreSQL itself or a pooler in session mode: LISTEN does
// not work through PgBouncer's transaction mode. An invalid connString is
// an error wrapping tokenauth.ErrInvalidOptions, which does not quote it.
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
// channel, calls ready, then notify with each notification's payload until
// ctx ends (it returns ctx's error) or the connection fails; after 30 s
// without a notification it pings the server, so that a connection that
// went silent ends Listen within 40 s.
func (l *Listener) Listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := pgx.ConnectConfig(cctx, l.config)
	if err != nil {
		cancel()
		return listenError(ctx, "connect", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
	}()
	_, err = conn.Exec(cctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	cancel()
	if err != nil {
		return listenError(ctx, "listen", err)
	}
	ready()
	for {
		wctx, cancel := context.WithTimeout(ctx, heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			notify(n.Payload)
			continue
		case ctx.Err() != nil || !pgconn.Timeout(err):
			return listenError(ctx, "wait", err)
		}
		// Silence: the connection is kept after a timed-out wait; check
		// that the server still answers on it.
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return listenError(ctx, "ping", err)
		}
	}
}

// listenError is ctx's error when ctx ended, and otherwise err.
func listenError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("pglisten: %s: %w", op, err)
}
