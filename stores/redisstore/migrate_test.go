package redisstore_test

import (
	"context"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// storeLegacy writes tok as redisstore did before v0.1.0: every key under
// old, which holds a hash tag.
func storeLegacy(t *testing.T, c redis.UniversalClient, old string, tok *tokenauth.Token) {
	t.Helper()
	ctx := context.Background()
	h := hex.EncodeToString(tok.Digest)
	enc := func(at time.Time) string {
		if at.IsZero() {
			return ""
		}
		return encodeMicros(at)
	}
	pipe := c.TxPipeline() // one slot: one MULTI
	pipe.HSet(ctx, old+"t:"+h, "id", tok.ID, "user", tok.UserID, "name", tok.Name, "scopes", `["read","write"]`,
		"created", enc(tok.CreatedAt), "expires", enc(tok.ExpiresAt), "last_used", enc(tok.LastUsedAt), "max_expires", enc(tok.MaxExpiresAt))
	pipe.Set(ctx, old+"id:"+tok.ID, h, 0)
	pipe.SAdd(ctx, old+"u:"+tok.UserID, tok.ID)
	if !tok.ExpiresAt.IsZero() {
		at := tok.ExpiresAt.Add(redisstore.DefaultRetention)
		pipe.PExpireAt(ctx, old+"t:"+h, at)
		pipe.PExpireAt(ctx, old+"id:"+tok.ID, at)
	}
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
}

// Tokens stored in the one-slot layout of earlier releases move to the
// spread layout, once, even with several Migrates at once; a token
// revoked after it moved stays revoked; a user's cut-off applies; the old
// keys are gone.
func TestMigrate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c, p := newStoreOn(t, b, redisstore.Options{})
		oldPrefix := p + "old:"
		old := "{" + oldPrefix + "}"
		cleanUp(t, c, old)

		var toks []*tokenauth.Token
		for i := range 40 {
			tok := newToken(t, []string{"alice", "bob", "carol"}[i%3])
			tok.Scopes = []string{"read", "write"}
			if i%2 == 0 {
				tok.ExpiresAt = time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
				tok.MaxExpiresAt = tok.ExpiresAt.Add(time.Hour)
			}
			storeLegacy(t, c, old, tok)
			toks = append(toks, tok)
		}
		// A user revoked in the new layout before the migration: her old
		// tokens are refused.
		revoked := newToken(t, "dave")
		storeLegacy(t, c, old, revoked)
		_, err := s.DeleteUser(ctx, "dave", time.Now())
		require.NoError(t, err)
		// A token Redis expired, leaving its ID in the user's set.
		require.NoError(t, c.SAdd(ctx, old+"u:alice", "expired-id").Err())

		var wg sync.WaitGroup
		counts := make([]int, 3)
		for i := range counts {
			wg.Go(func() {
				n, err := s.Migrate(ctx, oldPrefix)
				assert.NoError(t, err)
				counts[i] = n
			})
		}
		wg.Wait()
		assert.Equal(t, len(toks), counts[0]+counts[1]+counts[2], "each token moved once: %v", counts)

		for _, tok := range toks {
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assertSameToken(t, tok, got)
		}
		_, err = s.Find(ctx, revoked.Digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound, "refused by the cut-off")
		l, err := s.List(ctx, "alice")
		require.NoError(t, err)
		assert.Len(t, l, 14)
		require.NoError(t, s.Delete(ctx, toks[0].ID), "found by ID")
		n, err := s.DeleteUser(ctx, "bob", time.Now())
		require.NoError(t, err)
		assert.Equal(t, 13, n)

		// Nothing is left of the old layout, so another run moves nothing
		// back.
		n, err = s.Migrate(ctx, oldPrefix)
		require.NoError(t, err)
		assert.Zero(t, n)
		var left atomic.Int64 // the nodes are scanned at once
		require.NoError(t, forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient) error {
			keys, err := keysUnder(ctx, node, old)
			left.Add(int64(len(keys)))
			return err
		}))
		assert.Zero(t, left.Load(), "keys of the old layout")
		_, err = s.Find(ctx, toks[0].Digest)
		assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	})
}

// Migrate refuses an old layout whose keys this store's would overlap.
func TestMigrateOverlap(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	for _, tc := range []struct{ prefix, old string }{
		{"{tokenauth:}", ""},
		{"app:{t}:", "app:{t}:"},
		{"{x}", "{x}y:"},
	} {
		s, err := redisstore.New(client, redisstore.Options{Prefix: tc.prefix})
		require.NoError(t, err)
		_, err = s.Migrate(context.Background(), tc.old)
		require.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "%q from %q", tc.prefix, tc.old)
		assert.Contains(t, err.Error(), "overlap")
	}
}

func assertSameToken(t *testing.T, want, got *tokenauth.Token) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.UserID, got.UserID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Scopes, got.Scopes)
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt))
	assert.True(t, want.ExpiresAt.Equal(got.ExpiresAt))
	assert.True(t, want.MaxExpiresAt.Equal(got.MaxExpiresAt))
	assert.Equal(t, want.Digest, got.Digest)
}
