package tokenauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"unsafe"
)

// Hasher turns a token's plaintext into the digest that stores keep and look
// tokens up by. Digest must be deterministic, safe for concurrent use, and
// must not retain key.
//
// Tokens carry 256 random bits, so a fast cryptographic hash is the right
// tool: a slow password hash (bcrypt, argon2) would add latency to every
// request and no security.
type Hasher interface {
	Digest(key string) []byte
}

// SHA256 is the default Hasher: the SHA-256 of the token. A leaked table of
// digests does not reveal usable tokens.
var SHA256 Hasher = sha256Hasher{}

type sha256Hasher struct{}

func (h sha256Hasher) Digest(key string) []byte {
	return h.appendDigest(make([]byte, 0, sha256.Size), key)
}

func (sha256Hasher) appendDigest(dst []byte, key string) []byte {
	// View key as bytes without copying: sha256 only reads it.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(key), len(key)))
	return append(dst, sum[:]...)
}

// digestAppender is implemented by this package's Hashers: they can write
// a digest into memory the caller already has, which saves the middleware
// an allocation per request.
type digestAppender interface {
	appendDigest(dst []byte, key string) []byte
}

// minHMACKeyLen is the shortest server key NewHMAC accepts: 256 bits.
const minHMACKeyLen = 32

// NewHMAC returns a Hasher that computes HMAC-SHA256 with a server-side key.
// A copy of the token table is then useless without the key as well, which
// is kept out of the database (an environment variable or a secret manager).
// The key must be at least minHMACKeyLen bytes. Changing the key invalidates
// every issued token.
func NewHMAC(key []byte) (Hasher, error) {
	if len(key) < minHMACKeyLen {
		return nil, fmt.Errorf("%w: HMAC key is %d bytes, need at least %d", ErrInvalidOptions, len(key), minHMACKeyLen)
	}
	k := append([]byte(nil), key...)
	h := &hmacHasher{}
	h.pool.New = func() any {
		return &hmacState{mac: hmac.New(sha256.New, k), buf: make([]byte, 0, 128)}
	}
	return h, nil
}

type hmacHasher struct{ pool sync.Pool }

type hmacState struct {
	mac hash.Hash
	buf []byte
}

func (h *hmacHasher) Digest(key string) []byte {
	return h.appendDigest(make([]byte, 0, sha256.Size), key)
}

func (h *hmacHasher) appendDigest(dst []byte, key string) []byte {
	st := h.pool.Get().(*hmacState)
	st.mac.Reset()
	st.buf = append(st.buf[:0], key...)
	st.mac.Write(st.buf)
	out := st.mac.Sum(dst)
	clear(st.buf)
	if cap(st.buf) <= 1024 {
		h.pool.Put(st)
	}
	return out
}
