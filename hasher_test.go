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
