package memstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// fill stores n tokens and returns their digests.
func fill(b *testing.B, n int) (*memstore.Store, [][]byte) {
	b.Helper()
	s := memstore.New()
	digests := make([][]byte, n)
	for i := range digests {
		d := sha256.Sum256(fmt.Appendf(nil, "key-%d", i))
		digests[i] = d[:]
		if err := s.Create(context.Background(), &tokenauth.Token{
			ID: fmt.Sprint(i), UserID: fmt.Sprint("user-", i), Name: "login", Digest: digests[i],
		}); err != nil {
			b.Fatal(err)
		}
	}
	return s, digests
}

// BenchmarkFind looks up among few tokens and among many, one goroutine.
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		tokens int
	}{
		{"1000", 1000},
		{"131072", 1 << 17},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, digests := fill(b, c.tokens)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.Find(ctx, digests[i%len(digests)]); err != nil {
					b.Fatal(err)
				}
				i += 7919 // a prime: every token, in no order
			}
		})
	}
}

// BenchmarkFindParallel is Find from GOMAXPROCS goroutines, all on one
// token or spread over 1000. Every Find takes the store's read lock: run it
// with -cpu up to the host's core count to see what that costs under
// contention.
func BenchmarkFindParallel(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n, "tokens"), func(b *testing.B) {
			s, digests := fill(b, n)
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) * 7919
				for pb.Next() {
					if _, err := s.Find(ctx, digests[i%len(digests)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
