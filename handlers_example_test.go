package tokenauth_test

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
	"github.com/go-tokenauth/tokenauth/memstore"
)

// Login, use the token, log out. The checker stands in for the host's
// users; a real one compares a bcrypt hash (see CredentialChecker).
func ExampleNewLoginHandler() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		panic(err)
	}
	checker := tokenauth.CredentialCheckerFunc(func(ctx context.Context, username, password string) (string, error) {
		if username == "john" && password == "correct horse" {
			return "42", nil
		}
		return "", tokenauth.ErrBadCredentials
	})
	login, err := tokenauth.NewLoginHandler(auth, checker, tokenauth.LoginOptions{TTL: 30 * 24 * time.Hour})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/login", login)
	mux.Handle("/auth/logout", auth.Require(auth.LogoutHandler()))
	mux.Handle("/me", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "user %s", tok.UserID)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	show := func(resp *http.Response, err error) {
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", string(body))))
	}

	show(http.Post(srv.URL+"/auth/login", "application/x-www-form-urlencoded", strings.NewReader("username=john&password=guess")))

	resp, err := http.Post(srv.URL+"/auth/login", "application/json", strings.NewReader(`{"username": "john", "password": "correct horse"}`))
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

	client := tokenauth.NewClient(issued.Token)
	show(client.Get(srv.URL + "/me"))
	show(client.Post(srv.URL+"/auth/logout", "", nil))
	show(client.Get(srv.URL + "/me"))
	// Output:
	// 400 {"non_field_errors":["Unable to log in with provided credentials."]}
	// 200 no-store expires in about 720h0m0s
	// 200 user 42
	// 204
	// 401 {"detail":"Invalid token."}
}

// Behind a load balancer in 10.0.0.0/8 that appends each client's address
// to X-Forwarded-For. The leftmost entry was written by the client and is
// not believed.
func ExampleForwardedFor() {
	clientIP := tokenauth.ForwardedFor(netip.MustParsePrefix("10.0.0.0/8"))

	r := httptest.NewRequest(http.MethodPost, "/auth/login", nil)
	r.RemoteAddr = "10.0.0.5:41234"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.23")
	fmt.Println(clientIP(r))

	// The same header from a client that is not the proxy is ignored.
	r.RemoteAddr = "192.0.2.77:5000"
	fmt.Println(clientIP(r))

	// Use it as tokenauth.LoginOptions{ClientIP: clientIP}.
	// Output:
	// 198.51.100.23
	// 192.0.2.77
}
