package bench_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

// Build the memstore server with 100 tokens and ask it, in-process, with
// one of the sample keys and without.
func Example() {
	srv, err := bench.New(context.Background(), bench.Config{Mode: bench.Memstore, Tokens: 100, Sample: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	for _, auth := range []string{"Token " + srv.Keys[0], ""} {
		r := httptest.NewRequest(http.MethodGet, bench.Path, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		srv.Handler.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"message":"ok"}
	// 401 {"detail":"Authentication credentials were not provided."}
}
