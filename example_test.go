package tokenauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
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
	mux := http.NewServeMux()
	mux.Handle("/api/", auth.Require()(hello))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, header := range []string{"", "Token " + key} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/hello", nil)
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

// Require with scopes answers 403 when the token lacks one of them. Put a
// plain Require() in front of the whole API and add scopes per route.
func ExampleAuthenticator_Require() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	ctx := context.Background()
	reader, _, _ := auth.Issue(ctx, "1", tokenauth.IssueOptions{Scopes: []string{"orders:read"}})
	writer, _, _ := auth.Issue(ctx, "2", tokenauth.IssueOptions{Scopes: []string{"orders:read", "orders:write"}})

	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "created")
	})
	mux := http.NewServeMux()
	mux.Handle("POST /orders/", auth.Require("orders:write")(create))
	for _, key := range []string{reader, writer} {
		r := httptest.NewRequest("POST", "/orders/", nil)
		r.Header.Set("Authorization", "Token "+key)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 403 {"detail":"You do not have permission to perform this action."}
	// 200 created
}

// Optional lets anonymous requests through but still refuses bad tokens,
// as Django REST Framework does.
func ExampleAuthenticator_Optional() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	h := auth.Optional()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	fmt.Println(err, errors.Is(err, tokenauth.ErrInvalidToken))
	// Output:
	// 7 <nil>
	// tokenauth: malformed token true
}

// An adapter for another web framework calls Check for the decision and
// Error to answer a failure, so that it answers exactly as Require does;
// it only translates to the framework's idiom. Here the framework is a
// stand-in with a context type of its own, as gin and echo have.
func ExampleAuthenticator_Check() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	key, _, _ := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Scopes: []string{"read"}})

	// The framework.
	type frameworkContext struct {
		w http.ResponseWriter
		r *http.Request
	}
	type handlerFunc func(c *frameworkContext)

	// The adapter: middleware in the framework's shape.
	require := func(scopes ...string) func(handlerFunc) handlerFunc {
		p := tokenauth.Policy{Scopes: scopes}
		return func(next handlerFunc) handlerFunc {
			return func(c *frameworkContext) {
				ctx, err := auth.Check(c.r, p)
				if err != nil {
					auth.Error(c.w, c.r, err)
					return
				}
				c.r = c.r.WithContext(ctx)
				next(c)
			}
		}
	}

	// The host's handler reads the token as with net/http.
	profile := func(c *frameworkContext) {
		tok, _ := tokenauth.FromContext(c.r.Context())
		fmt.Fprintf(c.w, "user %s", tok.UserID)
	}
	routes := map[string]handlerFunc{
		"/profile": require()(profile),
		"/admin":   require("admin")(profile),
	}
	for _, req := range []struct{ path, header string }{
		{"/profile", "Token " + key},
		{"/profile", ""},
		{"/profile", "Token tka_junk"},
		{"/admin", "Token " + key},
	} {
		r := httptest.NewRequest(http.MethodGet, req.path, nil)
		if req.header != "" {
			r.Header.Set("Authorization", req.header)
		}
		w := httptest.NewRecorder()
		routes[req.path](&frameworkContext{w: w, r: r})
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user 42
	// 401 {"detail":"Authentication credentials were not provided."}
	// 401 {"detail":"Invalid token."}
	// 403 {"detail":"You do not have permission to perform this action."}
}
