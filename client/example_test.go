package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/client"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
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
		Transport: &client.Transport{Token: "tka_example", Keyword: "Bearer"},
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
func ExampleNew() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	resp, err := client.New("tka_example").Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: Token tka_example
}

// A Go client trades a username and password for a token, then calls the
// API with it. A refusal is a *LoginError carrying the server's field
// errors.
func ExampleLogin() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	mux := http.NewServeMux()
	// A stand-in for the login endpoint (the login package, or Django
	// REST Framework's obtain_auth_token).
	mux.HandleFunc("POST /api-token-auth/", func(w http.ResponseWriter, r *http.Request) {
		var creds struct{ Username, Password string }
		_ = json.NewDecoder(r.Body).Decode(&creds)
		w.Header().Set("Content-Type", "application/json")
		if creds.Username != "alice" || creds.Password != "s3cret" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"non_field_errors":["Unable to log in with provided credentials."]}`)
			return
		}
		key, _, _ := auth.Issue(r.Context(), "42", tokenauth.IssueOptions{Name: "login"})
		_ = json.NewEncoder(w).Encode(map[string]string{"token": key})
	})
	mux.Handle("GET /api/me/", auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "user %s", tok.UserID)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	_, err := client.Login(ctx, nil, srv.URL+"/api-token-auth/", "alice", "wrong")
	var refused *client.LoginError
	if errors.As(err, &refused) {
		fmt.Println(refused.StatusCode, refused.Fields["non_field_errors"][0])
	}

	key, err := client.Login(ctx, nil, srv.URL+"/api-token-auth/", "alice", "s3cret")
	if err != nil {
		panic(err)
	}
	resp, err := client.New(key).Get(srv.URL + "/api/me/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 400 Unable to log in with provided credentials.
	// 200 user 42
}
