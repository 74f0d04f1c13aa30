package echov5auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echov5auth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/labstack/echo/v5"
)

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the router and the middleware, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var okBody = []byte(`{"message":"ok"}`)

func okHandler(c *echo.Context) error { return c.Blob(http.StatusOK, "application/json", okBody) }

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

// BenchmarkRouter is the authenticated request through echo without the
// adapter: the floor BenchmarkAdapter is compared with.
func BenchmarkRouter(b *testing.B) {
	_, req := benchSetup(b)
	e := echo.New()
	e.GET("/api/items/:id/", okHandler)
	benchServe(b, e, req)
}

// BenchmarkAdapter is the same request behind Require: what the adapter and
// the core add to each request.
func BenchmarkAdapter(b *testing.B) {
	a, req := benchSetup(b)
	e := echo.New()
	e.GET("/api/items/:id/", okHandler, echov5auth.Require(a))
	benchServe(b, e, req)
}
