package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Watch pings the server defaultWatchPing after the last answer, and gives
// up on a connection whose answer takes longer than defaultWatchTimeout:
// a connection that froze is noticed within their sum. alive, called at
// each answer, then comes about every half second, twice as often as
// cachestore.Watcher asks, so that one slow answer on a loaded machine
// does not make the cache think itself unwatched.
const (
	defaultWatchPing    = 500 * time.Millisecond
	defaultWatchTimeout = time.Second
)

// publishChanged is the Lua function the deleting scripts call, in the
// same script as the change, so that no change goes unpublished. An event
// is the ID's length in bytes, a colon, the ID and the user ID: exact for
// any bytes, and readable in redis-cli.
const publishChanged = `
local function changed(prefix, id, user)
  redis.call('PUBLISH', prefix .. 'events', string.len(id) .. ':' .. id .. user)
end
`

var (
	errNoAnswer       = errors.New("the server did not answer in time")
	errResubscribed   = errors.New("the connection was re-established; events may have been missed")
	errMalformedEvent = errors.New("malformed event")
	errUnexpectedPong = errors.New("an answer to no ping")
)

// received is what one read of the subscription gave.
type received struct {
	msg any
	err error
}

// Watch implements cachestore.Watcher with Redis pub/sub: Delete,
// DeleteUser and Expire publish the ID and user ID of each token they
// change, in the script that changes it. Tokens that Redis expires by
// itself are not published: the Authenticator checks expiry on every
// request, cached record or not.
//
// Watch subscribes on a connection of its own and calls alive once Redis
// has confirmed the subscription, then changed for each event. It pings
// the server over that connection every half second; each answer, which
// comes after every event published before it, calls alive again. It
// returns an error as soon as the connection breaks, and when a ping is
// not answered within a second: a connection that froze is given up
// within 1.5 s. Events published meanwhile are lost: the caller must
// assume anything changed. It returns ctx's error once ctx ends.
func (s *Store) Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Not PubSub.Channel: it reconnects and resubscribes silently, so the
	// events published meanwhile would be missed without a word. Reads
	// run apart, and this loop judges the connection on its own clock:
	// go-redis redials inside a failed read before returning its error,
	// which against a server that accepts and never answers takes its
	// read timeouts (seconds) to give up.
	ps := s.client.Subscribe(ctx)
	in, quit := make(chan received), make(chan struct{})
	defer func() {
		close(quit)
		// Close waits for a redial in progress: it need not hold Watch.
		go ps.Close()
	}()
	deliver := func(r received) bool {
		select {
		case in <- r:
			return true
		case <-quit:
			return false
		}
	}
	go func() {
		if err := ps.Subscribe(ctx, s.channel()); err != nil {
			deliver(received{err: err})
			return
		}
		for {
			msg, err := ps.Receive(ctx)
			if !deliver(received{msg, err}) || err != nil {
				return // never read past an error: go-redis has redialled
			}
		}
	}()
	fail := func(err error) error { return fmt.Errorf("redisstore: watch: %w", err) }

	// One ping at a time: next fires to send it, deadline to give up on
	// it (or, at first, on the subscription).
	next := time.NewTimer(s.watchPing)
	next.Stop()
	deadline := time.NewTimer(2 * s.watchTimeout)
	defer next.Stop()
	defer deadline.Stop()
	subscribed := false
	var pings uint64
	pending := "" // the payload of the ping awaiting its answer
	for {
		var r received
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fail(errNoAnswer)
		case <-next.C:
			pings++
			pending = strconv.FormatUint(pings, 10)
			deadline.Reset(s.watchTimeout)
			go func(payload string) {
				if err := ps.Ping(ctx, payload); err != nil {
					deliver(received{err: err})
				}
			}(pending)
			continue
		case r = <-in:
		}
		if r.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(r.err)
		}
		switch m := r.msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.channel() {
				return fail(fmt.Errorf("unexpected %s", m))
			}
			if subscribed {
				return fail(errResubscribed)
			}
			subscribed = true
			deadline.Stop()
			next.Reset(s.watchPing)
			alive()
		case *redis.Pong:
			if pending == "" || m.Payload != pending {
				return fail(errUnexpectedPong)
			}
			pending = ""
			deadline.Stop()
			next.Reset(s.watchPing)
			alive()
		case *redis.Message:
			id, user, ok := decodeEvent(m.Payload)
			if !ok {
				// Someone else publishes here: the safe reading is that
				// anything may have changed.
				return fail(errMalformedEvent)
			}
			changed(id, user)
		}
	}
}

// decodeEvent reads what publishChanged wrote.
func decodeEvent(payload string) (id, user string, ok bool) {
	head, rest, found := strings.Cut(payload, ":")
	if !found {
		return "", "", false
	}
	n, err := strconv.Atoi(head)
	if err != nil || n < 0 || n > len(rest) {
		return "", "", false
	}
	return rest[:n], rest[n:], true
}
