package tokenauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
)

// A complete round trip: issue a token, protect a handler with Require, and
// call it with and without the token.
func Example() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		panic(err)
	}
	key, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Name: "example"})
	if err != nil {
		panic(err)
	}

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "hello, user %s", tok.UserID)
	})
	srv := httptest.NewServer(auth.Require(hello))
	defer srv.Close()

	for _, header := range []string{"", "Token " + key} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 401 {"detail":"Authentication credentials were not provided."}
	// 200 hello, user 42
}

// Optional lets anonymous requests through but still refuses bad tokens,
// as Django REST Framework does.
func ExampleAuthenticator_Optional() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	h := auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := tokenauth.FromContext(r.Context()); ok {
			fmt.Fprintln(w, "user", tok.UserID)
			return
		}
		fmt.Fprintln(w, "anonymous")
	}))
	for _, header := range []string{"", "Token not-a-token"} {
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
		if w.Code != 200 {
			fmt.Println()
		}
	}
	// Output:
	// 200 anonymous
	// 401 {"detail":"Invalid token."}
}

// RequireScopes answers 403 when the token lacks a scope.
func ExampleAuthenticator_RequireScopes() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	ctx := context.Background()
	reader, _, _ := auth.Issue(ctx, "1", tokenauth.IssueOptions{Scopes: []string{"orders:read"}})
	writer, _, _ := auth.Issue(ctx, "2", tokenauth.IssueOptions{Scopes: []string{"orders:read", "orders:write"}})

	h := auth.RequireScopes("orders:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "created")
	}))
	for _, key := range []string{reader, writer} {
		r := httptest.NewRequest("POST", "/orders/", nil)
		r.Header.Set("Authorization", "Token "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 403 {"detail":"You do not have permission to perform this action."}
	// 200 created
}

// Verify checks a key that did not come from an HTTP header, such as a
// gRPC metadata entry. Malformed keys are refused without a store lookup.
func ExampleAuthenticator_Verify() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	key, _, _ := auth.Issue(context.Background(), "7", tokenauth.IssueOptions{})

	p, err := auth.Verify(context.Background(), key)
	fmt.Println(p.Token.UserID, err)
	typo := "x"
	if key[len(key)-1] == 'x' {
		typo = "y"
	}
	_, err = auth.Verify(context.Background(), key[:len(key)-1]+typo)
	fmt.Println(err)
	// Output:
	// 7 <nil>
	// tokenauth: invalid token
}

// Parse checks a token's shape and checksum, for instance in a secret
// scanner or before storing a key a user pasted.
func ExampleParse() {
	key, _ := tokenauth.Generate("myapp")
	fmt.Println(tokenauth.Parse("myapp", key))
	fmt.Println(tokenauth.Parse("myapp", "myapp_typo"))
	// Output:
	// <nil>
	// tokenauth: invalid token
}

// AuthenticateContext is what a middleware for another framework calls:
// one decision, a context to pass on, and Error to answer a failure exactly
// as Require would.
func ExampleAuthenticator_AuthenticateContext() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	key, _, _ := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{})

	middleware := func(w http.ResponseWriter, r *http.Request) {
		ctx, _, err := auth.AuthenticateContext(r)
		if err != nil {
			auth.Error(w, r, err)
			return
		}
		r = r.WithContext(ctx)
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "user %s", tok.UserID)
	}

	for _, header := range []string{"Token " + key, "Token tka_junk"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		middleware(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user 42
	// 401 {"detail":"Invalid token."}
}
