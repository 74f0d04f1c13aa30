package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// replica is one process of a service: its own Redis client, cache
// and Authenticator over the shared Redis store. Its cache runs on a clock
// the test moves.
type replica struct {
	auth *tokenauth.Authenticator
	mu   sync.Mutex
	now  time.Time
}

const replicaCacheTTL = 30 * time.Second

func newReplica(t *testing.T, prefix string) *replica {
	t.Helper()
	store, err := redisstore.New(testClient(t), redisstore.Options{Prefix: prefix})
	require.NoError(t, err)
	r := &replica{now: time.Now()}
	cache, err := cachestore.New(store, cachestore.Options{TTL: replicaCacheTTL, Now: r.clock})
	require.NoError(t, err)
	r.auth, err = tokenauth.New(cache, tokenauth.Options{})
	require.NoError(t, err)
	return r
}

func (r *replica) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// warm has the replica cache the token key stands for. Its first use is
// recorded, which drops the entry; the next request caches the touched
// record.
func (r *replica) warm(t *testing.T, key string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		_, err := r.auth.Verify(context.Background(), key)
		require.NoError(t, err)
	}
}

// wait lets the replica's cache TTL pass.
func (r *replica) wait() {
	r.mu.Lock()
	r.now = r.now.Add(replicaCacheTTL)
	r.mu.Unlock()
}

// Two Authenticators over one Redis behave as two replicas of a service.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t, testClient(t))
	a, b := newReplica(t, prefix), newReplica(t, prefix)

	t.Run("a token issued on one works on the other", func(t *testing.T) {
		key, tok, err := a.auth.Issue(ctx, "u1", tokenauth.IssueOptions{Scopes: []string{"read"}})
		require.NoError(t, err)
		p, err := b.auth.Verify(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, tok.ID, p.Token.ID)
		assert.True(t, p.Token.HasScopes("read"))
	})

	t.Run("a revocation on one is seen by the other within the cache TTL", func(t *testing.T) {
		key, tok, err := a.auth.Issue(ctx, "u2", tokenauth.IssueOptions{})
		require.NoError(t, err)
		a.warm(t, key)
		b.warm(t, key)
		require.NoError(t, a.auth.Revoke(ctx, tok.ID))
		_, err = a.auth.Verify(ctx, key)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "the revoking replica refuses it at once")
		_, err = b.auth.Verify(ctx, key)
		assert.NoError(t, err, "the other serves its cached record until the TTL")
		b.wait()
		_, err = b.auth.Verify(ctx, key)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	})

	t.Run("revoke-all on one is seen by the other within the cache TTL", func(t *testing.T) {
		var keys []string
		for i := 0; i < 3; i++ {
			key, _, err := b.auth.Issue(ctx, "u3", tokenauth.IssueOptions{})
			require.NoError(t, err)
			a.warm(t, key)
			keys = append(keys, key)
		}
		n, err := b.auth.RevokeAll(ctx, "u3")
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		_, err = a.auth.Verify(ctx, keys[0])
		assert.NoError(t, err, "served from the cache until the TTL")
		a.wait()
		for _, key := range keys {
			_, err := a.auth.Verify(ctx, key)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
		}
	})
}
