package bench_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

// BenchmarkMiddleware is the cost of one authenticated request through
// each mode's handler, in-process: routing, authentication and the JSON
// answer, with keys taken in turn from 1000 seeded tokens. Compare each
// with bare (no authentication) and, for a store behind cachestore, with
// memstore. PostgreSQL and Redis run when TOKENAUTH_TEST_POSTGRES_DSN and
// TOKENAUTH_TEST_REDIS_ADDR are set:
//
//	go test -run '^$' -bench Middleware -benchtime 20000x .
func BenchmarkMiddleware(b *testing.B) {
	for _, m := range bench.Modes {
		b.Run(string(m), func(b *testing.B) {
			srv := newServer(b, testConfig(b, m, 1000, 1000))
			reqs := make([]*http.Request, len(srv.Keys))
			for i, key := range srv.Keys {
				reqs[i] = httptest.NewRequest(http.MethodGet, bench.Path, nil)
				reqs[i].Header.Set("Authorization", m.Scheme()+" "+key)
			}
			w := &discardWriter{h: http.Header{}}
			// Twice through every key before timing, as a service in steady
			// use would be: the first request of each token records its use
			// in the store, which drops it from the cache; the second fills
			// the cache again.
			for range 2 {
				for _, r := range reqs {
					w.status = 0
					srv.Handler.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Fatalf("status %d, want 200", w.status)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				srv.Handler.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
		})
	}
}
