package tokenauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

var okBody = []byte(`{"message":"ok"}`)

func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(okBody)
}

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the middleware and not the recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkBaseline is the handler alone: the floor BenchmarkMiddleware is
// compared with.
func BenchmarkBaseline(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
	r.Header.Set("Authorization", "Token tka_x")
	benchServe(b, http.HandlerFunc(okHandler), r)
}

// BenchmarkMiddleware is the same handler behind Require with a valid token
// in memstore: the per-request cost of tokenauth. The constrained token
// has an allow list of 10 ranges (the client's is the last) and a rate
// limit it never reaches, counted in process.
func BenchmarkMiddleware(b *testing.B) {
	var allowed []netip.Prefix
	for i := range 9 {
		allowed = append(allowed, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
	}
	allowed = append(allowed, netip.MustParsePrefix("192.0.2.0/24"))
	for _, c := range []struct {
		name string
		o    tokenauth.IssueOptions
	}{
		{"plain", tokenauth.IssueOptions{}},
		{"constrained", tokenauth.IssueOptions{AllowedIPs: allowed, RateLimit: 1 << 62, RateWindow: time.Hour}},
	} {
		b.Run(c.name, func(b *testing.B) {
			a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
			if err != nil {
				b.Fatal(err)
			}
			key, _, err := a.Issue(context.Background(), "1", c.o)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
			r.Header.Set("Authorization", "Token "+key)
			benchServe(b, a.Require()(http.HandlerFunc(okHandler)), r)
		})
	}
}

// BenchmarkMiddlewareParallel is BenchmarkMiddleware with requests from
// GOMAXPROCS goroutines at once, all with the same token: it shows what
// shared state (the touch claims, the store's lock) costs under
// contention. Run it with -cpu 1,2,4,8,16.
func BenchmarkMiddlewareParallel(b *testing.B) {
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Require()(http.HandlerFunc(okHandler))
	r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
	r.Header.Set("Authorization", "Token "+key)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkMiddlewareInvalid measures a rejected well-formed token: one
// digest and one store miss, then the 401 body.
func BenchmarkMiddlewareInvalid(b *testing.B) {
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	// Well-formed, but issued by another Authenticator: unknown here.
	other, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := other.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/protected/", nil)
	r.Header.Set("Authorization", "Token "+key)
	benchServe(b, a.Require()(http.HandlerFunc(okHandler)), r)
}

// BenchmarkIssue is the cost of creating a token in memstore.
func BenchmarkIssue(b *testing.B) {
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
