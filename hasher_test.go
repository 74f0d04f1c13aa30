package tokenauth_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"strings"
	"sync"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// customHasher is a Hasher from outside the package: the middleware cannot
// write its digests into memory of its own and must take Digest's.
type customHasher struct{}

func (customHasher) Digest(key string) []byte {
	sum := sha512.Sum512_256([]byte(key))
	return sum[:]
}

func TestHMACHasher(t *testing.T) {
	_, err := tokenauth.NewHMAC([]byte("short"))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	_, err = tokenauth.NewHMAC(bytes.Repeat([]byte{1}, 31))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "256 bits at least")

	secret := bytes.Repeat([]byte{1}, 32)
	h1, err := tokenauth.NewHMAC(secret)
	require.NoError(t, err)
	h2, err := tokenauth.NewHMAC(bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	key := "tka_example"
	assert.Len(t, h1.Digest(key), 32)
	assert.Equal(t, h1.Digest(key), h1.Digest(key))
	assert.NotEqual(t, h1.Digest(key), h2.Digest(key), "the server key matters")
	assert.NotEqual(t, tokenauth.SHA256.Digest(key), h1.Digest(key))
	assert.Equal(t, h1.Digest(strings.Repeat("k", 5000)), h1.Digest(strings.Repeat("k", 5000)))

	// The server key is copied: changing the caller's slice changes nothing.
	want := h1.Digest(key)
	secret[0] = 9
	assert.Equal(t, want, h1.Digest(key))

	// Concurrent use gives consistent digests.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if !bytes.Equal(want, h1.Digest(key)) {
					t.Error("inconsistent digest under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()

	// An Authenticator with an HMAC hasher works end to end.
	a, _ := tokenauthtest.New(t, tokenauth.Options{Hasher: h1})
	_, err = a.Verify(context.Background(), tokenauthtest.Issue(t, a, "1"))
	assert.NoError(t, err)
}

// Finding 7: the public CRC32 checksum lets any copy of tokenauth mint
// well-formed keys, each costing a store lookup. With a server key, the
// checksum is keyed: a flood of forged keys costs the store nothing, while
// the server's own tokens work as before.
func TestKeyedChecksumStopsForgedKeys(t *testing.T) {
	ctx := context.Background()
	hmac, err := tokenauth.NewHMAC([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	// No background writes of last uses: every store call is a lookup.
	a, store := tokenauthtest.New(t, tokenauth.Options{Hasher: hmac, TouchInterval: -1})
	own := tokenauthtest.Issue(t, a, "1")
	_, err = a.Verify(ctx, own)
	require.NoError(t, err)

	// Keys minted elsewhere: by tokenauth without a key, and under another
	// server key.
	public, _ := tokenauthtest.New(t, tokenauth.Options{})
	otherHMAC, err := tokenauth.NewHMAC([]byte("another server key, 32 bytes lng"))
	require.NoError(t, err)
	other, _ := tokenauthtest.New(t, tokenauth.Options{Hasher: otherHMAC})
	const flood = 10_000
	before := store.Calls()
	for i := range flood {
		forger := public
		if i%2 == 1 {
			forger = other
		}
		key, _, err := forger.Issue(ctx, "x", tokenauth.IssueOptions{})
		require.NoError(t, err)
		_, err = a.Verify(ctx, key)
		require.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	}
	assert.Equal(t, before, store.Calls(), "%d forged keys reached the store", flood)

	// Without a server key, such keys are well formed: each is one lookup.
	forged := tokenauthtest.Issue(t, other, "x")
	b, bstore := tokenauthtest.New(t, tokenauth.Options{})
	_, err = b.Verify(ctx, tokenauthtest.Issue(t, public, "x"))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	assert.Equal(t, 1, bstore.Calls())
	_, err = b.Verify(ctx, forged)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "a keyed key is malformed to a server without the key")
}
