package tokenauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
)

// BenchmarkCacheFind measures Cache.Find: hits on one goroutine and on
// all of them, negative hits, and misses that reach the store.
func BenchmarkCacheFind(b *testing.B) {
	ctx := context.Background()
	newCache := func(b *testing.B, opts tokenauth.CacheOptions, n int) (*tokenauth.Cache, [][]byte) {
		c, err := tokenauth.NewCache(memstore.New(), opts)
		if err != nil {
			b.Fatal(err)
		}
		digests := make([][]byte, n)
		for i := range digests {
			tok := cacheToken(b, "u1")
			if err := c.Create(ctx, tok); err != nil {
				b.Fatal(err)
			}
			digests[i] = tok.Digest
			if _, err := c.Find(ctx, tok.Digest); err != nil {
				b.Fatal(err)
			}
		}
		return c, digests
	}

	b.Run("hit", func(b *testing.B) {
		c, digests := newCache(b, tokenauth.CacheOptions{}, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Find(ctx, digests[0]); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("hit-parallel", func(b *testing.B) {
		c, digests := newCache(b, tokenauth.CacheOptions{}, 1024)
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
		c, _ := newCache(b, tokenauth.CacheOptions{}, 0)
		unknown := cacheToken(b, "u1").Digest
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
		// miss that asks the store.
		c, _ := newCache(b, tokenauth.CacheOptions{NegativeTTL: -1}, 0)
		unknown := cacheToken(b, "u1").Digest
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Find(ctx, unknown); err == nil {
				b.Fatal("found an unknown digest")
			}
		}
	})
}

// BenchmarkCacheMiddleware is BenchmarkMiddleware with a Cache in front of
// memstore: the per-request cost of tokenauth on a cache hit.
func BenchmarkCacheMiddleware(b *testing.B) {
	c, err := tokenauth.NewCache(memstore.New(), tokenauth.CacheOptions{})
	if err != nil {
		b.Fatal(err)
	}
	a, err := tokenauth.New(c, tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
	r.Header.Set("Authorization", "Token "+key)
	benchServe(b, a.Require(http.HandlerFunc(okHandler)), r)
}
