package pglisten

import "github.com/jackc/pgx/v5"

// HeartbeatPrefix starts every heartbeat's payload.
const HeartbeatPrefix = heartbeatPrefix

// SendThrough makes l send its heartbeats with connString, so that a test
// can freeze the listening connection alone.
func SendThrough(l *Listener, connString string) error {
	c, err := pgx.ParseConfig(connString)
	l.sender = c
	return err
}
