package memstore

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/go-tokenauth/tokenauth"
)

// cacheSize is how many materialised tokens each shard keeps for Find,
// 32768 in all, in sets of two by digest hash: 1000 tokens in use rarely
// have three in one set, which would make them push each other out.
const cacheSize = 512

// tokenCache holds tokens Find materialised, so that it can return them
// again without a lock or an allocation. Entries are read without a lock;
// they are stored under the shard's read lock and dropped under its write
// lock, so a write to a record and the drop of its token are one step for
// every lookup.
type tokenCache [cacheSize]atomic.Pointer[tokenauth.Token]

// set returns the first of the two entries for digest hash h: bits above
// the 32 the shard's table uses. The mask (cacheSize is a power of two)
// keeps the index non-negative where int has 32 bits.
func set(h uint64) int { return int(h>>32&(cacheSize-1)) &^ 1 }

func (c *tokenCache) get(h uint64, digest []byte) *tokenauth.Token {
	i := set(h)
	if t := c[i].Load(); t != nil && string(t.Digest) == string(digest) {
		return t
	}
	if t := c[i+1].Load(); t != nil && string(t.Digest) == string(digest) {
		return t
	}
	return nil
}

// put stores t in a free entry of its set, else in either at random.
func (c *tokenCache) put(h uint64, t *tokenauth.Token) {
	i := set(h)
	switch {
	case c[i].Load() == nil:
	case c[i+1].Load() == nil:
		i++
	default:
		i += rand.IntN(2)
	}
	c[i].Store(t)
}

// drop removes the token of digest, if cached.
func (c *tokenCache) drop(h uint64, digest string) {
	i := set(h)
	for j := i; j < i+2; j++ {
		if t := c[j].Load(); t != nil && string(t.Digest) == digest {
			c[j].Store(nil)
		}
	}
}
