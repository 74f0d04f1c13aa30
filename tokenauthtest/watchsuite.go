package tokenauthtest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// watchTimeout bounds the wait for one change in testWatch: generous for
// polling stores on a loaded machine.
const watchTimeout = 5 * time.Second

// RunWatcherTests checks a store's revocation events, which package
// cachestore watches: newStore returns a store whose Watch method
// (cachestore.Watcher's) tells of deletions, of DeleteUser and of expiries
// brought forward, not of uses; confirms its subscription repeatedly; and
// returns ctx's error when ctx ends.
func RunWatcherTests(t *testing.T, newStore func(t *testing.T) tokenauth.Store) {
	t.Helper()
	s := newStore(t)
	w, ok := s.(interface {
		Watch(ctx context.Context, alive func(), changed func(tokenID, userID string)) error
	})
	if !ok {
		t.Fatalf("%T has no Watch method: it is no cachestore.Watcher", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type change struct{ id, user string }
	changes := make(chan change, 100)
	ready, done := make(chan struct{}), make(chan error, 1)
	var alive atomic.Int64
	go func() {
		done <- w.Watch(ctx, func() {
			if alive.Add(1) == 1 {
				close(ready)
			}
		}, func(id, user string) { changes <- change{id, user} })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch returned before it was subscribed: %v", err)
	case <-time.After(watchTimeout):
		t.Fatal("Watch did not call alive")
	}

	a, b := newToken(t, "user-1", baseTime), newToken(t, "user-1", baseTime)
	c, d := newToken(t, "user-2", baseTime), newToken(t, "user-2", baseTime)
	b.ExpiresAt = time.Now().Add(time.Hour)
	for _, tok := range []*tokenauth.Token{a, b, c, d} {
		create(t, s, tok)
	}
	next := func(op string) change {
		t.Helper()
		select {
		case ch := <-changes:
			return ch
		case err := <-done:
			t.Fatalf("after %s: Watch returned %v", op, err)
		case <-time.After(watchTimeout):
			t.Fatalf("after %s: no change seen within %v", op, watchTimeout)
		}
		return change{}
	}
	want := func(op string, got change, toks ...*tokenauth.Token) {
		t.Helper()
		for _, tok := range toks {
			if got == (change{tok.ID, tok.UserID}) {
				return
			}
		}
		t.Errorf("after %s: changed(%q, %q), want one of %d tokens", op, got.id, got.user, len(toks))
	}

	// A use moves the expiry later: no change. Had it been reported, it
	// would come before the deletion's.
	if err := touch(ctx, s, b.ID, time.Now(), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want("Delete", next("Delete"), a)
	if n, err := s.DeleteUser(ctx, "user-2", time.Now()); err != nil || n != 2 {
		t.Fatalf("DeleteUser = %d, %v; want 2, nil", n, err)
	}
	// Either one event for the user, or one per token.
	first := next("DeleteUser")
	if first != (change{"", "user-2"}) {
		want("DeleteUser", first, c, d)
		second := next("DeleteUser")
		want("DeleteUser", second, c, d)
		if first == second {
			t.Errorf("DeleteUser of two tokens: the same change twice, %v", first)
		}
	}
	if err := s.Expire(ctx, b.ID, time.Now()); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	want("Expire", next("Expire"), b)

	// The subscription is confirmed again and again while it lasts.
	seen := alive.Load()
	deadline := time.Now().Add(watchTimeout)
	for alive.Load() < seen+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive.Load() < seen+2 {
		t.Errorf("alive was called %d times in %v after the changes; want it again at least every second", alive.Load()-seen, watchTimeout)
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch after its context was canceled = %v, want context.Canceled", err)
		}
	case <-time.After(watchTimeout):
		t.Fatal("Watch did not return after its context was canceled")
	}
	select {
	case ch := <-changes:
		t.Errorf("an unexpected change: %s", fmt.Sprint(ch))
	default:
	}
}
