package reliability

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// slowFind is a store whose next Find of one digest reads the record, then
// waits to be released before returning it: a lookup that has read a
// token and is still on its way back when the token is revoked.
type slowFind struct {
	tokenauth.Store
	mu      sync.Mutex
	digest  []byte
	read    chan struct{} // closed once the slow Find has read the record
	release chan struct{} // closed to let it return
}

func (s *slowFind) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	tok, err := s.Store.Find(ctx, digest)
	s.mu.Lock()
	slow := s.digest != nil && bytes.Equal(digest, s.digest)
	if slow {
		s.digest = nil
	}
	s.mu.Unlock()
	if slow {
		close(s.read)
		<-s.release
	}
	return tok, err
}

// TestCacheRevocationDuringLookup checks cachestore's promise that a
// revocation through it is honoured at once by its process: a Verify that
// starts after Revoke (or RevokeAll) has returned refuses the token, even
// when it joins a store lookup begun, and answered, before the revocation.
func TestCacheRevocationDuringLookup(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(ctx context.Context, a *tokenauth.Authenticator, tok *tokenauth.Token) error
	}{
		{"Revoke", func(ctx context.Context, a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			return a.Revoke(ctx, tok.ID)
		}},
		{"RevokeAll", func(ctx context.Context, a *tokenauth.Authenticator, tok *tokenauth.Token) error {
			_, err := a.RevokeAll(ctx, tok.UserID)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := &slowFind{Store: memstore.New(), read: make(chan struct{}), release: make(chan struct{})}
			// One process, and the revocation is its own: nothing to watch.
			cache, err := cachestore.New(store, cachestore.Options{AllowStaleRevocations: true})
			require.NoError(t, err)
			// No touches: a touch would reach the store and see the
			// revocation, hiding what the cache answers.
			auth, err := tokenauth.New(cache, tokenauth.Options{TouchInterval: -1})
			require.NoError(t, err)
			key, tok, err := auth.Issue(ctx, "alice", tokenauth.IssueOptions{})
			require.NoError(t, err)

			store.mu.Lock()
			store.digest = tokenauth.SHA256.Digest(key) // the default Hasher
			store.mu.Unlock()
			first := make(chan error, 1)
			go func() { _, err := auth.Verify(ctx, key); first <- err }()
			<-store.read
			require.NoError(t, tt.revoke(ctx, auth, tok))

			// Begun after the revocation returned, this Verify joins the
			// lookup still in flight.
			misses := cache.Stats().Misses
			second := make(chan error, 1)
			go func() { _, err := auth.Verify(ctx, key); second <- err }()
			waitFor(t, 5*time.Second, func() bool { return cache.Stats().Misses > misses }, "the second lookup to join the first")
			close(store.release)

			assert.ErrorIs(t, <-second, tokenauth.ErrInvalidToken, "a Verify begun after the revocation returned")
			// The first began before the revocation: either answer is right.
			if err := <-first; err != nil {
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
			}
			_, err = auth.Verify(ctx, key)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "and every later Verify")
		})
	}
}
