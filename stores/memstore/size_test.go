package memstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// maxHeapPerToken bounds memory: 10⁶ tokens in at most 700 MB. The plain
// maps cost about twice what a packed record table did (231 bytes), which
// a service that holds 10⁶ tokens keeps in a database, not here.
const maxHeapPerToken = 700

// heapPerToken fills a Store with n tokens shaped as the Authenticator
// issues them (a 22-character ID, a user each, the name "login", a TTL,
// a SHA-256 digest), finds each once, and returns the heap it holds per
// token: the records, their strings and the maps.
func heapPerToken(tb testing.TB, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	// Live tokens: the store sweeps out expired ones as it grows.
	created := time.Now().UTC().Truncate(time.Microsecond)
	digest := func(i int) []byte {
		d := sha256.Sum256(fmt.Appendf(nil, "key-%d", i))
		return d[:]
	}
	before := heapInUse()
	s := memstore.New()
	for i := range n {
		err := s.Create(ctx, &tokenauth.Token{
			ID:           fmt.Sprintf("%022d", i),
			UserID:       "user-" + strconv.Itoa(i),
			Name:         "login",
			CreatedAt:    created,
			ExpiresAt:    created.Add(24 * time.Hour),
			MaxExpiresAt: created.Add(24 * time.Hour),
			Digest:       digest(i),
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		if _, err := s.Find(ctx, digest(i)); err != nil {
			tb.Fatal(err)
		}
	}
	after := heapInUse()
	require.Equal(tb, n, s.Len())
	runtime.KeepAlive(s)
	return float64(after-before) / float64(n)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestHeapPerToken checks the bound at 10⁶ tokens; it takes a few
// seconds and 300 MB, and the race detector makes it ten times slower.
func TestHeapPerToken(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("fills a store with 10⁶ tokens, too slow with -short or -race")
	}
	got := heapPerToken(t, 1_000_000)
	t.Logf("heap per token at 10⁶ tokens: %.0f bytes", got)
	require.LessOrEqual(t, got, float64(maxHeapPerToken))
}

// BenchmarkHeapPerToken reports the heap per token at 10³ and 10⁶ tokens
// (bytes/token; ns/op is the time to fill the store):
//
//	go test -run '^$' -bench HeapPerToken -benchtime 1x ./memstore
func BenchmarkHeapPerToken(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = heapPerToken(b, n)
			}
			b.ReportMetric(per, "bytes/token")
		})
	}
}
