package reliability

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// spyStore records every call made to the store it wraps.
type spyStore struct {
	tokenauth.Store
	mu      sync.Mutex
	methods []string
	digests [][]byte // the arguments of Find
}

func (s *spyStore) record(method string) {
	s.mu.Lock()
	s.methods = append(s.methods, method)
	s.mu.Unlock()
}

// take returns the calls recorded so far and forgets them.
func (s *spyStore) take() (methods []string, digests [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	methods, digests = s.methods, s.digests
	s.methods, s.digests = nil, nil
	return methods, digests
}

func (s *spyStore) Create(ctx context.Context, t *tokenauth.Token) error {
	s.record("Create")
	return s.Store.Create(ctx, t)
}

func (s *spyStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	s.mu.Lock()
	s.methods = append(s.methods, "Find")
	s.digests = append(s.digests, bytes.Clone(digest))
	s.mu.Unlock()
	return s.Store.Find(ctx, digest)
}

func (s *spyStore) Delete(ctx context.Context, id string) error {
	s.record("Delete")
	return s.Store.Delete(ctx, id)
}

func (s *spyStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	s.record("DeleteUser")
	return s.Store.DeleteUser(ctx, userID, before, keep...)
}

func (s *spyStore) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	s.record("List")
	return s.Store.List(ctx, userID)
}

func (s *spyStore) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	s.record("Touch")
	return s.Store.Touch(ctx, uses)
}

func (s *spyStore) Expire(ctx context.Context, id string, at time.Time) error {
	s.record("Expire")
	return s.Store.Expire(ctx, id, at)
}

// TestUnknownTokenLookupByDigest shows that authenticating a well-formed
// token that was never issued compares no secret in a time that depends on
// the secret.
//
// The argument: the Authenticator hashes the presented key and asks the
// store for that digest, once; nothing else runs. The only comparisons
// with stored data are then the store's own index lookup (a B-tree, a hash
// table, a Redis key), whose timing depends on the digest of the key the
// client sent. Learning how that digest relates to stored digests tells
// the client nothing about any token: SHA-256 (keyed, with HMAC) is
// preimage-resistant, so no client can steer its digests toward a stored
// one, byte by byte, as it could steer a plaintext comparison. The one
// constant-time comparison in Verify runs only after a record was found.
// Malformed keys (wrong length, alphabet or checksum) are refused before
// any store call, from the key alone; with HMAC so are keys whose
// checksum was made without the server key.
func TestUnknownTokenLookupByDigest(t *testing.T) {
	hmacKey := bytes.Repeat([]byte{0x5a}, 32)
	keyed, err := tokenauth.NewHMAC(hmacKey)
	require.NoError(t, err)
	tests := []struct {
		name   string
		hasher tokenauth.Hasher
		digest func(key string) []byte
	}{
		{"SHA-256", nil, func(key string) []byte { d := sha256.Sum256([]byte(key)); return d[:] }},
		{"HMAC-SHA256", keyed, func(key string) []byte {
			m := hmac.New(sha256.New, hmacKey)
			m.Write([]byte(key))
			return m.Sum(nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			spy := &spyStore{Store: memstore.New()}
			auth, err := tokenauth.New(spy, tokenauth.Options{Hasher: tt.hasher, AcceptLegacyKeys: true})
			require.NoError(t, err)
			_, _, err = auth.Issue(ctx, "alice", tokenauth.IssueOptions{})
			require.NoError(t, err, "the store holds a token, so lookups have something to compare with")
			// Well-formed, and unknown here: issued with the same Hasher
			// (and so, with HMAC, the same keyed checksum) over another
			// store.
			elsewhere, err := tokenauth.New(memstore.New(), tokenauth.Options{Hasher: tt.hasher})
			require.NoError(t, err)
			unknown, _, err := elsewhere.Issue(ctx, "alice", tokenauth.IssueOptions{})
			require.NoError(t, err)
			spy.take()

			for _, key := range []string{unknown, strings.Repeat("ab", 20) /* a DRF key */} {
				_, err := auth.Verify(ctx, key)
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
				methods, digests := spy.take()
				require.Equal(t, []string{"Find"}, methods, "one store call, a lookup, for %q", key)
				assert.Equal(t, tt.digest(key), digests[0], "the lookup is by the key's digest")
				assert.False(t, bytes.Contains(digests[0], []byte(key)), "the plaintext never reaches the store")
			}

			// Malformed keys are refused before any store call; with
			// HMAC, so is a key whose checksum was made without the
			// server key, as anyone can make one.
			malformed := []string{"", "tka_", unknown[:len(unknown)-1] + "!", unknown + "0", typo(unknown)}
			if tt.hasher != nil {
				unkeyed, err := tokenauth.New(memstore.New(), tokenauth.Options{})
				require.NoError(t, err)
				forged, _, err := unkeyed.Issue(ctx, "alice", tokenauth.IssueOptions{})
				require.NoError(t, err)
				malformed = append(malformed, forged)
			}
			for _, key := range malformed {
				_, err := auth.Verify(ctx, key)
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "%q", key)
				methods, _ := spy.take()
				assert.Empty(t, methods, "a malformed key %q reaches no store", key)
			}

			// The same over HTTP, through the middleware.
			srv := httptest.NewServer(auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Token "+unknown)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			methods, digests := spy.take()
			require.Equal(t, []string{"Find"}, methods)
			assert.Equal(t, tt.digest(unknown), digests[0])
		})
	}
}

// typo changes one character of key's body, which its checksum catches.
func typo(key string) string {
	b := []byte(key)
	i := len("tka_") + 5
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}
