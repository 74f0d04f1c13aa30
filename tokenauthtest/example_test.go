package tokenauthtest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// profileHandler is a host's handler under test.
var profileHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, _ := tokenauth.FromContext(r.Context())
	fmt.Fprintf(w, "profile of %s", tok.UserID)
})

// A host tests its protected handler through the real middleware with one
// line per request, and its outage handling by switching the store off.
func Example() {
	var t exampleT // in a real test: the *testing.T
	auth, store := tokenauthtest.New(t, tokenauth.Options{})
	h := auth.Require()(profileHandler)
	req := tokenauthtest.NewRequest(t, auth, "GET", "/me", nil, "alice")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	store.SetErr(errors.New("database down"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Retry-After"))
	// Output:
	// 200 profile of alice
	// 503 5
}

// exampleT stands in for *testing.T in this example.
type exampleT struct{}

func (exampleT) Helper()                        {}
func (exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// WithUser skips the middleware and the store entirely, for unit tests of
// a handler alone.
func ExampleWithUser() {
	r := tokenauthtest.WithUser(httptest.NewRequest("GET", "/me", nil), "bob", nil, "read")
	w := httptest.NewRecorder()
	profileHandler.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: profile of bob
}

// A Clock makes expiry testable without waiting: pass its Now to the
// Authenticator and move it forward.
func ExampleClock() {
	var t exampleT // in a real test: the *testing.T
	clock := tokenauthtest.NewClock()
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now, DefaultTTL: time.Hour})
	h := auth.Require()(profileHandler)
	req := tokenauthtest.NewRequest(t, auth, "GET", "/me", nil, "alice")

	for _, wait := range []time.Duration{59 * time.Minute, time.Minute} {
		clock.Advance(wait)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 profile of alice
	// 401 {"detail":"Token has expired."}
}
