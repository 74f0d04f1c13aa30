package tokenauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
)

// Hasher turns a token's plaintext into the digest stores keep and find it
// by. Digest must be deterministic, safe for concurrent use, and not retain
// key. With 256 random bits, a slow password hash would only add latency.
type Hasher interface {
	Digest(key string) []byte
}

// SHA256 is the default Hasher: the SHA-256 of the token.
var SHA256 Hasher = sha256Hasher{}

type sha256Hasher struct{}

func (h sha256Hasher) Digest(key string) []byte {
	return h.appendDigest(make([]byte, 0, sha256.Size), key)
}

func (sha256Hasher) appendDigest(dst []byte, key string) []byte {
	// Copied to the stack, where []byte(key) would allocate for keys
	// over 32 bytes; one that does not fit allocates.
	var buf [128]byte
	sum := sha256.Sum256(append(buf[:0], key...))
	return append(dst, sum[:]...)
}

// digestAppender is implemented by this package's Hashers: they write the
// digest into the request context's allocation instead of a new one.
//
// Kept by the A/B of e2e/bench/README.md for the 3 allocations a
// request: it saves one allocation and, alone, only 0 to 35 ns/op in
// BenchmarkMiddleware (60 to 210 at -cpu 16); with keyformat's checksum
// over the key's own bytes it saves 4 allocations and 92 to 152 ns/op
// (218 to 470 at -cpu 16).
type digestAppender interface {
	appendDigest(dst []byte, key string) []byte
}

// minHMACKeyLen is the shortest server key NewHMAC accepts: 256 bits.
const minHMACKeyLen = 32

// NewHMAC returns an HMAC-SHA256 Hasher under a server key of at least 32
// bytes, kept out of the database, so a copy of the token table is useless
// alone. Its tokens carry a keyed checksum: forged keys are refused before
// any store is asked. Changing the key invalidates every issued token.
func NewHMAC(key []byte) (Hasher, error) {
	if len(key) < minHMACKeyLen {
		return nil, fmt.Errorf("%w: HMAC key is %d bytes, need at least %d", ErrInvalidOptions, len(key), minHMACKeyLen)
	}
	h := &hmacHasher{}
	h.pool.New = newHMACPool(key)
	// The checksum's key is derived, so that a checksum never reveals
	// anything about a digest.
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("tokenauth checksum key"))
	h.sumPool.New = newHMACPool(mac.Sum(nil))
	return h, nil
}

func newHMACPool(key []byte) func() any {
	k := append([]byte(nil), key...)
	return func() any { return &hmacState{mac: hmac.New(sha256.New, k), buf: make([]byte, 0, 128)} }
}

type hmacHasher struct{ pool, sumPool sync.Pool }

// keyedSum is implemented by Hashers with a server key: it computes the
// 32-bit checksum that tokens issued under the key carry.
type keyedSum interface {
	sum(prefix, body string) uint32
}

func (h *hmacHasher) sum(prefix, body string) uint32 {
	st := h.sumPool.Get().(*hmacState)
	st.mac.Reset()
	st.buf = append(append(st.buf[:0], prefix...), body...)
	st.mac.Write(st.buf)
	var out [sha256.Size]byte
	st.mac.Sum(out[:0])
	clear(st.buf)
	h.sumPool.Put(st)
	return uint32(out[0])<<24 | uint32(out[1])<<16 | uint32(out[2])<<8 | uint32(out[3])
}

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
