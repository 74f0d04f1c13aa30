package login_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/client"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// Log in, then use the token. The checker stands in for the host's users;
// a real one compares a bcrypt hash (see CredentialChecker).
func Example() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		panic(err)
	}
	users := login.CredentialCheckerFunc(func(ctx context.Context, username, password string) (login.Grant, error) {
		if username == "john" && password == "correct horse" {
			return login.Grant{UserID: "42"}, nil
		}
		return login.Grant{}, login.ErrBadCredentials
	})
	h, err := login.New(auth, users, login.Options{TTL: 30 * 24 * time.Hour})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/login", h)
	mux.Handle("/me", auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "user %s", tok.UserID)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/auth/login", "application/x-www-form-urlencoded", strings.NewReader("username=john&password=guess"))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Post(srv.URL+"/auth/login", "application/json", strings.NewReader(`{"username": "john", "password": "correct horse"}`))
	if err != nil {
		panic(err)
	}
	var issued struct {
		Token  string    `json:"token"`
		Expiry time.Time `json:"expiry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"), "expires in about", time.Until(issued.Expiry).Round(time.Hour))

	resp, err = client.New(issued.Token).Get(srv.URL + "/me")
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 400 {"non_field_errors":["Unable to log in with provided credentials."]}
	// 200 no-store expires in about 720h0m0s
	// 200 user 42
}

// Behind a load balancer in 10.0.0.0/8 that appends each client's address
// to X-Forwarded-For. The leftmost entry was written by the client and is
// not believed.
func ExampleForwardedFor() {
	clientAddr := login.ForwardedFor(netip.MustParsePrefix("10.0.0.0/8"))

	r := httptest.NewRequest(http.MethodPost, "/auth/login", nil)
	r.RemoteAddr = "10.0.0.5:41234"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.23")
	fmt.Println(clientAddr(r))

	// The same header from a client that is not the proxy is ignored.
	r.RemoteAddr = "192.0.2.77:5000"
	fmt.Println(clientAddr(r))

	// Use it as login.Options{ClientAddr: clientAddr}.
	// Output:
	// 198.51.100.23
	// 192.0.2.77
}
