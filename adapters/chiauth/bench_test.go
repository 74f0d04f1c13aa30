package chiauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the router and the middleware, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var okBody = []byte(`{"message":"ok"}`)

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(okBody)
}

// benchSetup returns an Authenticator over memstore and a request that
// carries a valid token for it.
func benchSetup(b *testing.B) (*tokenauth.Authenticator, *http.Request) {
	b.Helper()
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/items/42/", nil)
	r.Header.Set("Authorization", "Token "+key)
	return a, r
}

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkServeMux is the authenticated request through net/http's
// ServeMux without authentication: the floor BenchmarkCore is compared with.
func BenchmarkServeMux(b *testing.B) {
	_, req := benchSetup(b)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/items/{id}/", okHandler)
	benchServe(b, mux, req)
}

// BenchmarkCore is the same request behind the core's Require on a
// ServeMux: the per-request cost of tokenauth that every adapter is
// compared with.
func BenchmarkCore(b *testing.B) {
	a, req := benchSetup(b)
	mux := http.NewServeMux()
	mux.Handle("GET /api/items/{id}/", a.Require()(http.HandlerFunc(okHandler)))
	benchServe(b, mux, req)
}

// BenchmarkRouter is the authenticated request through chi without
// authentication: the floor BenchmarkAdapter is compared with.
func BenchmarkRouter(b *testing.B) {
	_, req := benchSetup(b)
	r := chi.NewRouter()
	r.Get("/api/items/{id}/", okHandler)
	benchServe(b, r, req)
}

// BenchmarkAdapter is the same request behind the core's Require, used as
// chi middleware: chi needs no adapter.
func BenchmarkAdapter(b *testing.B) {
	a, req := benchSetup(b)
	r := chi.NewRouter()
	r.With(a.Require()).Get("/api/items/{id}/", okHandler)
	benchServe(b, r, req)
}
