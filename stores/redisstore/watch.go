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

// defaultWatchPing is how long Watch waits for a message before it pings
// the server, and then for the answer: a connection that has silently
// died is noticed within twice this.
const defaultWatchPing = time.Second

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
)

// channel is the pub/sub channel of the store's events. It shares the
// keys' prefix, so that stores under different prefixes do not hear each
// other.
func (s *Store) channel() string { return s.prefix + "events" }

// received is what one read of the subscription gave.
type received struct {
	msg any
	err error
}

// Watch implements tokenauth.Watcher with Redis pub/sub: Delete,
// DeleteUser and Expire publish the ID and user ID of each token they
// change, in the script that changes it. Tokens that Redis expires by
// itself are not published: the Authenticator checks expiry on every
// request, cached record or not.
//
// Watch subscribes on a connection of its own, calls ready once Redis has
// confirmed the subscription, then changed for each event. It returns an
// error as soon as the connection breaks, and when it goes silent: after
// a second without a message it pings, and gives up if nothing arrives
// within another. Events published meanwhile are lost: the caller must
// assume anything changed. It returns ctx's error once ctx ends.
func (s *Store) Watch(ctx context.Context, ready func(), changed func(tokenID, userID string)) error {
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
	silence := time.NewTimer(s.watchPing)
	defer silence.Stop()
	subscribed, pinged := false, false
	for {
		var r received
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-silence.C:
			if pinged {
				return fail(errNoAnswer)
			}
			pinged = true
			go func() {
				if err := ps.Ping(ctx); err != nil {
					deliver(received{err: err})
				}
			}()
			silence.Reset(s.watchPing)
			continue
		case r = <-in:
		}
		if r.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(r.err)
		}
		pinged = false
		silence.Reset(s.watchPing)
		switch m := r.msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.channel() {
				return fail(fmt.Errorf("unexpected %s", m))
			}
			if subscribed {
				return fail(errResubscribed)
			}
			subscribed = true
			ready()
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
