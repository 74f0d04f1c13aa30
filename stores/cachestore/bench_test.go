package cachestore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// BenchmarkFind measures Store.Find on one goroutine: hits, negative hits,
// and misses that reach the wrapped store.
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()

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

// newFilled returns a cache over a memstore with events holding n found
// tokens, and their digests: the cache as it runs by default, watching.
func newFilled(b *testing.B, opts cachestore.Options, n int) (*cachestore.Store, [][]byte) {
	c := newWatching(b, opts)
	digests := make([][]byte, n)
	for i := range digests {
		tok := newToken(b, "u1")
		createFound(b, c, tok)
		digests[i] = tok.Digest
	}
	return c, digests
}

// newWatching returns a cache over a memstore with events, once it hears
// them.
func newWatching(b *testing.B, opts cachestore.Options) *cachestore.Store {
	c, err := cachestore.New(newEventStore(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	for !c.Stats().Watching {
		time.Sleep(time.Millisecond)
	}
	return c
}

// BenchmarkFindParallel is Store.Find from GOMAXPROCS goroutines at once:
// hits on one token, on 1,000 tokens, and negative hits on one unknown
// digest. Every hit takes the cache's one lock: run it with -cpu up to the
// host's core count to see what that costs under contention.
func BenchmarkFindParallel(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, c *cachestore.Store, digests [][]byte, wantErr error) {
		b.ReportAllocs()
		b.ResetTimer()
		var start atomic.Uint32
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine walks the digests from its own place.
			i := int(start.Add(1)) * 997
			for pb.Next() {
				i++
				if _, err := c.Find(ctx, digests[i%len(digests)]); !errors.Is(err, wantErr) {
					b.Errorf("Find: %v, want %v", err, wantErr)
					return
				}
			}
		})
	}
	b.Run("one-token", func(b *testing.B) {
		c, digests := newFilled(b, cachestore.Options{}, 1)
		run(b, c, digests, nil)
	})
	b.Run("1000-tokens", func(b *testing.B) {
		c, digests := newFilled(b, cachestore.Options{}, 1000)
		run(b, c, digests, nil)
	})
	b.Run("unknown-token", func(b *testing.B) {
		c, _ := newFilled(b, cachestore.Options{}, 0)
		unknown := newToken(b, "u1").Digest
		if _, err := c.Find(ctx, unknown); !errors.Is(err, tokenauth.ErrNotFound) {
			b.Fatal(err)
		}
		run(b, c, [][]byte{unknown}, tokenauth.ErrNotFound)
	})
}

// BenchmarkMiddlewareParallel is the root package's benchmark of the same
// name with the cache in front of memstore: Require with a valid token,
// from GOMAXPROCS goroutines at once, all with the same token. Run it with
// -cpu 1,2,4,8,16.
func BenchmarkMiddlewareParallel(b *testing.B) {
	c := newWatching(b, cachestore.Options{})
	a, err := tokenauth.New(c, tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
	r.Header.Set("Authorization", "Token "+key)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, r)
			if w.code != http.StatusNoContent {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// discardWriter is a ResponseWriter that allocates nothing and keeps only
// the status, so the benchmark measures the middleware.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkVerify is Authenticator.Verify of a valid key with the cache in
// front of memstore: the per-request cost of tokenauth on a cache hit,
// without HTTP.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	a, err := tokenauth.New(newWatching(b, cachestore.Options{}), tokenauth.Options{})
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
