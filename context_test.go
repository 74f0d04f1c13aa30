package tokenauth_test

import (
	"context"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContextGetters(t *testing.T) {
	ctx := context.Background()
	_, ok := tokenauth.FromContext(ctx)
	assert.False(t, ok)
	_, ok = tokenauth.UserFromContext[string](ctx)
	assert.False(t, ok)

	type key struct{}
	base := context.WithValue(ctx, key{}, "kept")
	tok := &tokenauth.Token{ID: "t", UserID: "u"}
	ctx = tokenauth.NewContext(base, tokenauth.Principal{Token: tok, User: "alice"})
	got, ok := tokenauth.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, tok, got)
	u, ok := tokenauth.UserFromContext[string](ctx)
	assert.True(t, ok)
	assert.Equal(t, "alice", u)
	_, ok = tokenauth.UserFromContext[int](ctx)
	assert.False(t, ok, "wrong type")
	assert.Equal(t, "kept", ctx.Value(key{}), "other values stay reachable")

	// A Principal without a token is anonymous.
	_, ok = tokenauth.FromContext(tokenauth.NewContext(base, tokenauth.Principal{}))
	assert.False(t, ok)

	// Cancellation propagates through the principal context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.Error(t, cctx.Err())
	pctx, cancel := context.WithCancel(base)
	ctx = tokenauth.NewContext(pctx, tokenauth.Principal{Token: tok})
	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "the parent's cancellation reaches the principal context")
}
