package tokenauthtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// The suite's cases for the optional interfaces: each skips when the store
// does not implement its interface.

// testExpire checks that Expire brings ExpiresAt and MaxExpiresAt forward
// to the given time where they are later or unset, leaves earlier ones,
// and never recreates a token.
func testExpire(t *testing.T, s tokenauth.Store) {
	e, ok := s.(tokenauth.Expirer)
	if !ok {
		t.Skip("store does not implement tokenauth.Expirer")
	}
	ctx := context.Background()
	at := baseTime.Add(time.Hour)
	for _, tc := range []struct {
		name                string
		expires, maxExpires time.Duration // after baseTime; zero: unset
		wantExp, wantMaxExp time.Duration
	}{
		{"both later", 2 * time.Hour, 3 * time.Hour, time.Hour, time.Hour},
		{"never expires", 0, 0, time.Hour, time.Hour},
		{"sliding without deadline", 2 * time.Hour, 0, time.Hour, time.Hour},
		{"expires earlier, deadline later", 30 * time.Minute, 90 * time.Minute, 30 * time.Minute, time.Hour},
		{"both earlier", 30 * time.Minute, 45 * time.Minute, 30 * time.Minute, 45 * time.Minute},
		{"exactly then", time.Hour, time.Hour, time.Hour, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newToken(t, "user-1", baseTime)
			if tc.expires > 0 {
				tok.ExpiresAt = baseTime.Add(tc.expires)
			}
			if tc.maxExpires > 0 {
				tok.MaxExpiresAt = baseTime.Add(tc.maxExpires)
			}
			create(t, s, tok)
			want := tok.Clone()
			want.ExpiresAt, want.MaxExpiresAt = baseTime.Add(tc.wantExp), baseTime.Add(tc.wantMaxExp)
			for i := range 2 { // the second changes nothing, and is no error
				if err := e.Expire(ctx, tok.ID, at); err != nil {
					t.Fatalf("Expire #%d: %v", i+1, err)
				}
				assertToken(t, find(t, s, tok.Digest), want)
			}
			// A later use cannot undo it.
			if err := s.Touch(ctx, tok.ID, baseTime.Add(time.Minute), baseTime.Add(5*time.Hour)); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			got := find(t, s, tok.Digest)
			if got.ExpiresAt.After(at) {
				t.Errorf("after Expire and Touch: ExpiresAt = %v, want at most %v", got.ExpiresAt, at)
			}
		})
	}
	t.Run("gone", func(t *testing.T) {
		tok := newToken(t, "user-1", baseTime)
		create(t, s, tok)
		if err := s.Delete(ctx, tok.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNotFound(t, "Expire(deleted)", e.Expire(ctx, tok.ID, at))
		wantNotFound(t, "Expire(unknown)", e.Expire(ctx, "no-such-id", at))
		_, err := s.Find(ctx, tok.Digest)
		wantNotFound(t, "Find after Expire of a deleted token", err)
	})
	t.Run("canceled context", func(t *testing.T) {
		tok := newToken(t, "user-1", baseTime)
		create(t, s, tok)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := e.Expire(cctx, tok.ID, at); err == nil || errors.Is(err, tokenauth.ErrNotFound) {
			t.Errorf("Expire with a canceled context = %v; want an error that is not ErrNotFound", err)
		}
		assertToken(t, find(t, s, tok.Digest), tok)
	})
}

// testTouchBatch checks that TouchBatch applies Touch's contract to each
// use: nothing moves backwards, the expiry stops at MaxExpiresAt, a token
// without expiry keeps none, tokens that are gone are skipped and not
// recreated, and several uses of one token leave the latest.
func testTouchBatch(t *testing.T, s tokenauth.Store) {
	b, ok := s.(tokenauth.BatchToucher)
	if !ok {
		t.Skip("store does not implement tokenauth.BatchToucher")
	}
	ctx := context.Background()
	sliding := newToken(t, "user-1", baseTime)
	sliding.ExpiresAt = baseTime.Add(time.Hour)
	forever := newToken(t, "user-1", baseTime)
	capped := newToken(t, "user-1", baseTime)
	capped.ExpiresAt, capped.MaxExpiresAt = baseTime.Add(time.Hour), baseTime.Add(2*time.Hour)
	deleted := newToken(t, "user-1", baseTime)
	deleted.ExpiresAt = baseTime.Add(time.Hour)
	for _, tok := range []*tokenauth.Token{sliding, forever, capped, deleted} {
		create(t, s, tok)
	}
	if err := s.Delete(ctx, deleted.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	if err := b.TouchBatch(ctx, nil); err != nil {
		t.Fatalf("TouchBatch(nil) = %v, want nil", err)
	}
	used := baseTime.Add(10 * time.Minute)
	err := b.TouchBatch(ctx, []tokenauth.TokenUse{
		{ID: sliding.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: forever.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: capped.ID, LastUsed: used, ExpiresAt: baseTime.Add(5 * time.Hour)},
		{ID: deleted.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: "no-such-id", LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
	})
	if err != nil {
		t.Fatalf("TouchBatch: %v", err)
	}
	wantSliding, wantForever, wantCapped := sliding.Clone(), forever.Clone(), capped.Clone()
	wantSliding.LastUsedAt, wantSliding.ExpiresAt = used, baseTime.Add(3*time.Hour)
	wantForever.LastUsedAt = used
	wantCapped.LastUsedAt, wantCapped.ExpiresAt = used, capped.MaxExpiresAt
	check := func(step string) {
		t.Helper()
		for _, want := range []*tokenauth.Token{wantSliding, wantForever, wantCapped} {
			got := find(t, s, want.Digest)
			if !sameTime(got.LastUsedAt, want.LastUsedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) || !sameTime(got.MaxExpiresAt, want.MaxExpiresAt) {
				t.Errorf("%s: LastUsedAt %v, ExpiresAt %v, MaxExpiresAt %v; want %v, %v, %v", step,
					got.LastUsedAt, got.ExpiresAt, got.MaxExpiresAt, want.LastUsedAt, want.ExpiresAt, want.MaxExpiresAt)
			}
		}
		_, err := s.Find(ctx, deleted.Digest)
		wantNotFound(t, step+": Find of a deleted token", err)
		if l, err := s.List(ctx, "user-1"); err != nil || len(l) != 3 {
			t.Errorf("%s: List = %d tokens, %v; want 3", step, len(l), err)
		}
	}
	check("after a batch")

	// Older uses, and two uses of one token in one batch, in either order:
	// the latest values stay.
	err = b.TouchBatch(ctx, []tokenauth.TokenUse{
		{ID: sliding.ID, LastUsed: baseTime.Add(time.Minute), ExpiresAt: baseTime.Add(2 * time.Hour)},
		{ID: capped.ID, LastUsed: baseTime.Add(20 * time.Minute), ExpiresAt: baseTime.Add(90 * time.Minute)},
		{ID: sliding.ID, LastUsed: baseTime.Add(20 * time.Minute), ExpiresAt: time.Time{}},
		{ID: capped.ID, LastUsed: baseTime.Add(5 * time.Minute), ExpiresAt: baseTime.Add(4 * time.Hour)},
		{ID: deleted.ID, LastUsed: baseTime.Add(20 * time.Minute)},
	})
	if err != nil {
		t.Fatalf("TouchBatch: %v", err)
	}
	wantSliding.LastUsedAt = baseTime.Add(20 * time.Minute)
	wantCapped.LastUsedAt = baseTime.Add(20 * time.Minute)
	check("after older and repeated uses")

	// A batch of many tokens.
	many := make([]*tokenauth.Token, 120)
	uses := make([]tokenauth.TokenUse, 0, 2*len(many))
	for i := range many {
		many[i] = newToken(t, "user-2", baseTime)
		many[i].ExpiresAt = baseTime.Add(time.Hour)
		create(t, s, many[i])
		at := baseTime.Add(time.Duration(i+1) * time.Second)
		uses = append(uses, tokenauth.TokenUse{ID: many[i].ID, LastUsed: at, ExpiresAt: at.Add(time.Hour)},
			tokenauth.TokenUse{ID: many[i].ID, LastUsed: baseTime, ExpiresAt: baseTime})
	}
	if err := b.TouchBatch(ctx, uses); err != nil {
		t.Fatalf("TouchBatch of %d uses: %v", len(uses), err)
	}
	for i, tok := range many {
		at := baseTime.Add(time.Duration(i+1) * time.Second)
		got := find(t, s, tok.Digest)
		if !sameTime(got.LastUsedAt, at) || !sameTime(got.ExpiresAt, at.Add(time.Hour)) {
			t.Fatalf("token %d of a large batch: LastUsedAt %v, ExpiresAt %v; want %v, %v", i, got.LastUsedAt, got.ExpiresAt, at, at.Add(time.Hour))
		}
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.TouchBatch(cctx, []tokenauth.TokenUse{{ID: sliding.ID, LastUsed: baseTime.Add(time.Hour)}}); err == nil {
		t.Error("TouchBatch with a canceled context = nil, want an error")
	}
}

// watchTimeout bounds the wait for one change in testWatch: generous for
// polling stores on a loaded machine.
const watchTimeout = 5 * time.Second

// testWatch checks that a watcher hears of deletions and of expiries
// brought forward, and not of uses, and that Watch returns ctx's error
// when ctx ends.
func testWatch(t *testing.T, s tokenauth.Store) {
	w, ok := s.(tokenauth.Watcher)
	if !ok {
		t.Skip("store does not implement tokenauth.Watcher")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type change struct{ id, user string }
	changes := make(chan change, 100)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, func() { close(ready) }, func(id, user string) { changes <- change{id, user} })
	}()
	select {
	case <-ready:
	case err := <-done:
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("store cannot watch: %v", err)
		}
		t.Fatalf("Watch returned before ready: %v", err)
	case <-time.After(watchTimeout):
		t.Fatal("Watch did not call ready")
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
	if err := s.Touch(ctx, b.ID, time.Now(), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want("Delete", next("Delete"), a)
	if n, err := s.DeleteUser(ctx, "user-2"); err != nil || n != 2 {
		t.Fatalf("DeleteUser = %d, %v; want 2, nil", n, err)
	}
	first := next("DeleteUser")
	want("DeleteUser", first, c, d)
	second := next("DeleteUser")
	want("DeleteUser", second, c, d)
	if first == second {
		t.Errorf("DeleteUser of two tokens: the same change twice, %v", first)
	}
	if e, ok := s.(tokenauth.Expirer); ok {
		if err := e.Expire(ctx, b.ID, time.Now()); err != nil {
			t.Fatalf("Expire: %v", err)
		}
		want("Expire", next("Expire"), b)
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
