package tokenauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// A login whose password check began before RevokeAll (a password change)
// cannot store its token after it: Issue says ErrRevoked, and nothing is
// left. The races themselves are RunStoreTests' RevokeRace and CutOffRace.
func TestIssueAfterRevokeAll(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
	checkBegan := c.Now()
	c.Advance(50 * time.Millisecond) // the password check
	_, err := a.RevokeAll(ctx, "1")
	require.NoError(t, err)

	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{Name: "login", CreatedAt: checkBegan})
	assert.ErrorIs(t, err, tokenauth.ErrRevoked)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	l, err := a.List(ctx, "1")
	require.NoError(t, err)
	assert.Empty(t, l, "nothing stored")

	// A login checked after the change works, and so does one of another user.
	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{Name: "login", CreatedAt: c.Now()})
	assert.NoError(t, err)
	_, _, err = a.Issue(ctx, "2", tokenauth.IssueOptions{Name: "login", CreatedAt: checkBegan})
	assert.NoError(t, err)
}

// RevokeOthers keeps the session it is given and revokes the rest, and
// RevokeAll then ends that one too.
func TestRevokeOthersKeeps(t *testing.T) {
	ctx := context.Background()
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	keepKey := tokenauthtest.Issue(t, a, "1")
	other := tokenauthtest.Issue(t, a, "1")
	p, err := a.Verify(ctx, keepKey)
	require.NoError(t, err)
	n, err := a.RevokeOthers(ctx, p.Token)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = a.Verify(ctx, other)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, keepKey)
	assert.NoError(t, err)
	// The kept session can still rotate after the cut-off.
	newKey, _, err := a.Rotate(ctx, p.Token, 0)
	require.NoError(t, err)
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err)
}

// Finding 8: a record without an absolute deadline (from before the
// column existed) would slide for ever under IdleTimeout. With DefaultTTL
// set, it stops at CreatedAt + DefaultTTL like every token issued now.
func TestRecordWithoutDeadlineStopsSliding(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	a, s := newMem(t, tokenauth.Options{Now: c.Now, DefaultTTL: 10 * time.Second, IdleTimeout: 4 * time.Second, TouchInterval: time.Second})
	// An old row: a sliding expiry and no deadline.
	key, old, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, old.ID))
	old.MaxExpiresAt = time.Time{}
	require.NoError(t, s.Create(ctx, old))

	for c.Now().Before(old.CreatedAt.Add(10 * time.Second)) {
		_, err := a.Verify(ctx, key)
		require.NoError(t, err, "at %s", c.Now().Sub(old.CreatedAt))
		tokenauth.FlushUses(a)
		c.Advance(time.Second)
	}
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired, "used every second, it still ends at CreatedAt + DefaultTTL")
}

// RevokeKey revokes a leaked key whatever its state, including one whose
// user the UserLoader refuses, which Verify cannot find.
func TestRevokeKey(t *testing.T) {
	ctx := context.Background()
	refused := false
	a, _ := tokenauthtest.New(t, tokenauth.Options{UserLoader: func(context.Context, string) (any, error) {
		if refused {
			return nil, tokenauth.ErrUserInactive
		}
		return "user", nil
	}})
	key := tokenauthtest.Issue(t, a, "1")
	refused = true
	_, err := a.Verify(ctx, key)
	require.ErrorIs(t, err, tokenauth.ErrUserInactive)

	tok, err := a.RevokeKey(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "1", tok.UserID)
	refused = false
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "re-enabling the user does not bring it back")

	_, err = a.RevokeKey(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound, "twice")
	_, err = a.RevokeKey(ctx, "tka_junk")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
}
