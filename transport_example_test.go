package tokenauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// A Transport in a client of one's own, here with a timeout and the
// keyword of an API that expects Bearer tokens.
func ExampleTransport() {
	// A server that shows the Authorization header it receives.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	client := &http.Client{
		Transport: &tokenauth.Transport{Token: "tka_example", Keyword: "Bearer"},
		Timeout:   10 * time.Second,
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: Bearer tka_example
}

// The one-line client: every request carries `Authorization: Token <key>`,
// as DRF clients send it.
func ExampleNewClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	resp, err := tokenauth.NewClient("tka_example").Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: Token tka_example
}
