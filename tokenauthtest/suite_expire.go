package tokenauthtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// testExpire checks that Expire brings ExpiresAt and MaxExpiresAt forward
// to the given time where they are later or unset, leaves earlier ones,
// and never recreates a token.
func testExpire(t *testing.T, s tokenauth.Store) {
	e := s
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
			if err := touch(ctx, s, tok.ID, baseTime.Add(time.Minute), baseTime.Add(5*time.Hour)); err != nil {
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

// testTouchBatch checks that a batch applies Touch's contract to each
// use: nothing moves backwards, the expiry stops at MaxExpiresAt, a token
// without expiry keeps none, tokens that are gone are skipped and not
// recreated, and several uses of one token leave the latest.
func testTouchBatch(t *testing.T, s tokenauth.Store) {
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

	if err := s.Touch(ctx, nil); err != nil {
		t.Fatalf("Touch(nil) = %v, want nil", err)
	}
	used := baseTime.Add(10 * time.Minute)
	err := s.Touch(ctx, []tokenauth.TokenUse{
		{ID: sliding.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: forever.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: capped.ID, LastUsed: used, ExpiresAt: baseTime.Add(5 * time.Hour)},
		{ID: deleted.ID, LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
		{ID: "no-such-id", LastUsed: used, ExpiresAt: baseTime.Add(3 * time.Hour)},
	})
	if err != nil {
		t.Fatalf("Touch: %v", err)
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
	err = s.Touch(ctx, []tokenauth.TokenUse{
		{ID: sliding.ID, LastUsed: baseTime.Add(time.Minute), ExpiresAt: baseTime.Add(2 * time.Hour)},
		{ID: capped.ID, LastUsed: baseTime.Add(20 * time.Minute), ExpiresAt: baseTime.Add(90 * time.Minute)},
		{ID: sliding.ID, LastUsed: baseTime.Add(20 * time.Minute), ExpiresAt: time.Time{}},
		{ID: capped.ID, LastUsed: baseTime.Add(5 * time.Minute), ExpiresAt: baseTime.Add(4 * time.Hour)},
		{ID: deleted.ID, LastUsed: baseTime.Add(20 * time.Minute)},
	})
	if err != nil {
		t.Fatalf("Touch: %v", err)
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
	if err := s.Touch(ctx, uses); err != nil {
		t.Fatalf("Touch of %d uses: %v", len(uses), err)
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
	if err := s.Touch(cctx, []tokenauth.TokenUse{{ID: sliding.ID, LastUsed: baseTime.Add(time.Hour)}}); err == nil {
		t.Error("Touch with a canceled context = nil, want an error")
	}
}
