package ginauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the router and the middleware, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var okBody = []byte(`{"message":"ok"}`)

func okHandler(c *gin.Context) { c.Data(http.StatusOK, "application/json", okBody) }

// benchSetup returns an Authenticator over memstore and a request that
// carries a valid token for it.
func benchSetup(b *testing.B) (*tokenauth.Authenticator, *http.Request) {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
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

// BenchmarkRouter is the authenticated request through gin without the
// adapter: the floor BenchmarkAdapter is compared with.
func BenchmarkRouter(b *testing.B) {
	_, req := benchSetup(b)
	r := gin.New()
	r.GET("/api/items/:id/", okHandler)
	benchServe(b, r, req)
}

// BenchmarkAdapter is the same request in a Group: what the adapter and
// the core add to each request.
func BenchmarkAdapter(b *testing.B) {
	a, req := benchSetup(b)
	r := gin.New()
	ginauth.Group(r, "/api", a).GET("/items/:id/", okHandler)
	benchServe(b, r, req)
}

// BenchmarkSet is the request through gin with a middleware that only
// stores a context with gin.Context.Set: gin allocates its Keys map for the
// first Set of every request. It is what keeping the Principal in c.Keys
// would add, which is why ginauth keeps it in the request context only.
func BenchmarkSet(b *testing.B) {
	_, req := benchSetup(b)
	ctx := context.Background()
	r := gin.New()
	r.GET("/api/items/:id/", func(c *gin.Context) { c.Set(benchKey{}, ctx) }, okHandler)
	benchServe(b, r, req)
}

type benchKey struct{}
