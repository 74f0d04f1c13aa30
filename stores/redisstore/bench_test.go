package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the middleware and not the recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware is a request through Require with a valid token in
// Redis, with and without a cachestore in front of the store.
func BenchmarkMiddleware(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "redis"
		if cached {
			name = "redis+cache"
		}
		b.Run(name, func(b *testing.B) {
			var store tokenauth.Store
			store, _, _ = newTestStore(b, redisstore.Options{})
			if cached {
				c, err := cachestore.New(store, cachestore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				store = c
			}
			a, err := tokenauth.New(store, tokenauth.Options{})
			if err != nil {
				b.Fatal(err)
			}
			key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{})
			if err != nil {
				b.Fatal(err)
			}
			h := a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
			r.Header.Set("Authorization", "Token "+key)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkFind is one Store.Find: a Redis round trip and the decoding of
// the record.
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()
	s, _, _ := newTestStore(b, redisstore.Options{})
	tok := newToken(b, "u1")
	if err := s.Create(ctx, tok.Clone()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Find(ctx, tok.Digest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindPolicy alternates lookups of a token without policy and of
// one with every policy field set, so that both meet the same machine
// load, and reports each one's mean and their ratio.
func BenchmarkFindPolicy(b *testing.B) {
	ctx := context.Background()
	s, _, _ := newTestStore(b, redisstore.Options{})
	bare, full := newToken(b, "u1"), withPolicy(newToken(b, "u1"))
	for _, tok := range []*tokenauth.Token{bare, full} {
		if err := s.Create(ctx, tok.Clone()); err != nil {
			b.Fatal(err)
		}
	}
	find := func(digest []byte) time.Duration {
		start := time.Now()
		if _, err := s.Find(ctx, digest); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var inBare, inFull time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n%2 == 0 {
			inBare += find(bare.Digest)
			inFull += find(full.Digest)
		} else {
			inFull += find(full.Digest)
			inBare += find(bare.Digest)
		}
		n++
	}
	b.ReportMetric(float64(inBare.Nanoseconds())/float64(n), "ns/find-bare")
	b.ReportMetric(float64(inFull.Nanoseconds())/float64(n), "ns/find-policy")
	b.ReportMetric(float64(inFull)/float64(inBare), "ratio")
	b.ReportMetric(0, "ns/op") // an op is one lookup of each
}

// BenchmarkCountRate is one CountRate: a script call, one round trip.
func BenchmarkCountRate(b *testing.B) {
	ctx := context.Background()
	s, _, _ := newTestStore(b, redisstore.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.CountRate(ctx, "hot", 1_000_000_000, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
