package cachestore_test

import (
	"context"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/cachestore"
	"github.com/go-tokenauth/tokenauth/memstore"
)

// BenchmarkFind measures Store.Find: hits on one goroutine and on all of
// them, negative hits, and misses that reach the wrapped store.
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()
	newFilled := func(b *testing.B, opts cachestore.Options, n int) (*cachestore.Store, [][]byte) {
		c, err := cachestore.New(memstore.New(), opts)
		if err != nil {
			b.Fatal(err)
		}
		digests := make([][]byte, n)
		for i := range digests {
			tok := newToken(b, "u1")
			createFound(b, c, tok)
			digests[i] = tok.Digest
		}
		return c, digests
	}

	b.Run("hit", func(b *testing.B) {
		c, digests := newFilled(b, cachestore.Options{}, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Find(ctx, digests[0]); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("hit-parallel", func(b *testing.B) {
		c, digests := newFilled(b, cachestore.Options{}, 1024)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := c.Find(ctx, digests[i%len(digests)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("negative-hit", func(b *testing.B) {
		c, _ := newFilled(b, cachestore.Options{}, 0)
		unknown := newToken(b, "u1").Digest
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Find(ctx, unknown); err == nil {
				b.Fatal("found an unknown digest")
			}
		}
	})

	b.Run("miss", func(b *testing.B) {
		// Negative caching off: every lookup of the unknown digest is a
		// miss that asks the wrapped store.
		c, _ := newFilled(b, cachestore.Options{NegativeTTL: -1}, 0)
		unknown := newToken(b, "u1").Digest
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Find(ctx, unknown); err == nil {
				b.Fatal("found an unknown digest")
			}
		}
	})
}

// BenchmarkVerify is Authenticator.Verify of a valid key with the cache in
// front of memstore: the per-request cost of tokenauth on a cache hit,
// without HTTP.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	c, err := cachestore.New(memstore.New(), cachestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	a, err := tokenauth.New(c, tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Verify(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
