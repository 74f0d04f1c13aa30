package pglisten

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Heartbeat bounds.
const (
	// beatEvery is how often Listen sends a heartbeat, and so how often
	// it calls ready: twice a second, so that ready comes at least once a
	// second even when a heartbeat is late.
	beatEvery = 500 * time.Millisecond
	// echoTimeout is how long a heartbeat may take, from its send until
	// it comes back (or from the last notification handled, when that is
	// later): a frozen connection shows within beatEvery + echoTimeout,
	// 2 s. A round trip takes milliseconds (18 ms at the 99th percentile
	// over a minute with both cores of the test machine busy), but that
	// machine, overloaded, once held one past 1 s: the margin keeps a busy
	// host from being taken for a dead channel.
	echoTimeout = 1500 * time.Millisecond
	// proveTimeout bounds the first heartbeat, which proves that LISTEN
	// delivers at all: longer than echoTimeout, so that a slow start is
	// not taken for a pooler that never delivers.
	proveTimeout = 3 * time.Second
	// lagLimit is the longest a heartbeat may take while other
	// notifications keep arriving ahead of it (a purge's burst draining):
	// ready waits meanwhile; past it, Listen gives up the backlog.
	lagLimit = 10 * time.Second
	// pingTimeout bounds the ping that tells a connection that answers
	// but does not deliver (a pooler) from a dead one.
	pingTimeout = time.Second
)

// heartbeatPrefix starts every heartbeat's payload. The revocation
// triggers send JSON arrays, which start with '[': no heartbeat is taken
// for a revocation, nor a revocation for a heartbeat.
const heartbeatPrefix = "pglisten:heartbeat:"

// heartbeat proves, again and again, that notifications sent to the
// channel now reach the listening connection. It sends from a second
// connection on purpose: a session's own NOTIFY comes back to it with its
// own reply, so through a pooler in transaction mode it would return
// although nothing sent by another session ever arrives. A notification
// sent by someone else proves nothing either, since its send time is
// unknown; only the heartbeat's own round trip bounds the delay.
type heartbeat struct {
	listening, sending *pgx.Conn
	notifySQL          string // the heartbeat's transaction, up to the payload
	nonce              string // tells this Listen's heartbeats from other replicas'
	seq                uint64 // the last heartbeat's number
}

func newHeartbeat(listening, sending *pgx.Conn, channel string) (*heartbeat, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &heartbeat{
		listening: listening, sending: sending,
		// Committed without waiting for the WAL to reach disk: a
		// heartbeat need not survive a crash, and the server need not
		// flush twice a second per replica. SET LOCAL, not SET: through
		// a pooler in transaction mode a session setting would stay on a
		// server connection that other clients then use.
		notifySQL: "BEGIN; SET LOCAL synchronous_commit = off; NOTIFY " + pgx.Identifier{channel}.Sanitize() + ", ",
		nonce:     hex.EncodeToString(b[:]),
	}, nil
}

// run delivers notifications and heartbeats until ctx ends or the channel
// fails. See Listen.
func (h *heartbeat) run(ctx context.Context, ready func(), notify func(string)) error {
	var (
		proven   bool      // a heartbeat came back
		want     string    // the payload of the heartbeat awaited; "" when none is
		sent     time.Time // when it was sent
		progress time.Time // when the last notification was handled
		next     time.Time // when the next heartbeat is due
	)
	for {
		bound := echoTimeout
		if !proven {
			bound = proveTimeout
		}
		if want == "" && !time.Now().Before(next) {
			sent = time.Now()
			next, progress = sent.Add(beatEvery), sent
			var err error
			if want, err = h.send(ctx, bound); err != nil {
				return err
			}
		}
		deadline := next
		if want != "" {
			deadline = latest(sent.Add(bound), progress.Add(echoTimeout))
			if limit := sent.Add(lagLimit); limit.Before(deadline) {
				deadline = limit
			}
		}
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := h.listening.WaitForNotification(wctx)
		cancel()
		if n != nil {
			switch {
			case want != "" && n.Payload == want:
				want, proven = "", true
				ready()
			case strings.HasPrefix(n.Payload, heartbeatPrefix):
				// Another replica's heartbeat, or a stale one.
			default:
				notify(n.Payload)
			}
			progress = time.Now()
			continue // a failed wait shows again on the next
		}
		switch {
		case ctx.Err() != nil || !pgconn.Timeout(err):
			return listenError(ctx, "wait", err)
		case want != "":
			return h.lost(ctx, !proven, sent)
		}
	}
}

// send NOTIFYs the channel with the next heartbeat from the sending
// connection, within timeout, and returns its payload. The payload is made
// of hex digits and colons only, and so is safe as a literal: NOTIFY
// takes no parameters.
func (h *heartbeat) send(ctx context.Context, timeout time.Duration) (string, error) {
	h.seq++
	payload := heartbeatPrefix + h.nonce + ":" + strconv.FormatUint(h.seq, 10)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := h.sending.Exec(sctx, h.notifySQL+"'"+payload+"'; COMMIT"); err != nil {
		if pgconn.Timeout(err) {
			err = fmt.Errorf("not done within %v: the connection or the server froze: %w", timeout, err)
		}
		return "", listenError(ctx, "heartbeat: NOTIFY", unsupported(err))
	}
	return payload, nil
}

// lost is Listen's error when the heartbeat sent at sent did not come
// back. On the first, a connection that still answers a ping is taken
// for one that never delivers: errUndelivered.
func (h *heartbeat) lost(ctx context.Context, first bool, sent time.Time) error {
	waited := time.Since(sent).Round(time.Millisecond)
	if !first {
		return listenError(ctx, "heartbeat", fmt.Errorf("not back %v after it was sent: "+
			"the listening connection or the server stopped delivering (frozen connection, dead server, or a stalled notification queue)", waited))
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := h.listening.Ping(pctx); err != nil {
		return listenError(ctx, "heartbeat", fmt.Errorf("the first was not back after %v, and the listening connection does not answer: %w", waited, err))
	}
	return listenError(ctx, "heartbeat", fmt.Errorf("the first was not back after %v, although the connection answers: %w", waited, errUndelivered))
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
