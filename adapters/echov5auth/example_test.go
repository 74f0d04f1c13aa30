// Code generated from package echoauth by echov5.sed; DO NOT EDIT.

package echov5auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echov5auth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/labstack/echo/v5"
)

// An echo service that logs in, calls a protected route and logs out.
func Example() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	loginHandler, err := login.New(auth, login.CredentialCheckerFunc(
		func(_ context.Context, username, password string) (login.Grant, error) {
			if username == "alice" && password == "s3cret" { // a real checker asks the user database
				return login.Grant{UserID: "42"}, nil
			}
			return login.Grant{}, login.ErrBadCredentials
		}), login.Options{})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.Any("/api-token-auth/", echo.WrapHandler(loginHandler)) // other methods get DRF's 405
	api := e.Group("/api", echov5auth.Require(auth))
	api.GET("/me/", func(c *echo.Context) error {
		tok, _ := echov5auth.Token(c)
		return c.JSON(http.StatusOK, map[string]string{"user": tok.UserID})
	})
	api.POST("/logout/", echo.WrapHandler(auth.LogoutHandler()))

	send := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w
	}
	w := send(http.MethodPost, "/api-token-auth/", "", `{"username": "alice", "password": "s3cret"}`)
	var resp struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		log.Fatal(err)
	}
	fmt.Println("login:", w.Code)
	w = send(http.MethodGet, "/api/me/", resp.Token, "")
	fmt.Println("me:", w.Code, strings.TrimSpace(w.Body.String()))
	w = send(http.MethodPost, "/api/logout/", resp.Token, "")
	fmt.Println("logout:", w.Code)
	w = send(http.MethodGet, "/api/me/", resp.Token, "")
	fmt.Println("me:", w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// login: 200
	// me: 200 {"user":"42"}
	// logout: 204
	// me: 401 {"detail":"Invalid token."}
}

// A route that needs a scope on top of the group's Require: a token
// without it gets 403.
func ExampleRequire() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	reader, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Scopes: []string{"read"}})
	if err != nil {
		log.Fatal(err)
	}
	writer, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Scopes: []string{"read", "write"}})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	api := e.Group("/api", echov5auth.Require(auth))
	api.POST("/articles/", func(c *echo.Context) error {
		return c.NoContent(http.StatusCreated)
	}, echov5auth.Require(auth, "write"))

	for _, key := range []string{reader, writer} {
		req := httptest.NewRequest(http.MethodPost, "/api/articles/", nil)
		req.Header.Set("Authorization", "Token "+key)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(w.Code, http.StatusText(w.Code))
	}
	// Output:
	// 403 Forbidden
	// 201 Created
}

// On a group, Require checks credentials before echo routes the request:
// without them a client gets 401 on every path and method under the
// group; with them, an unknown path gets 404 and a wrong method 405 with
// the Allow header.
func ExampleRequire_group() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	key, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	api := e.Group("/api", echov5auth.Require(auth))
	api.GET("/articles/", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })

	for _, sent := range []string{"", key} {
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodDelete, "/api/articles/", nil),
			httptest.NewRequest(http.MethodGet, "/api/drafts/", nil),
		} {
			if sent != "" {
				req.Header.Set("Authorization", "Token "+sent)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			fmt.Printf("token %t: %s %s: %d Allow=%q\n", sent != "", req.Method, req.URL.Path, w.Code, w.Header().Get("Allow"))
		}
	}
	// Output:
	// token false: DELETE /api/articles/: 401 Allow=""
	// token false: GET /api/drafts/: 401 Allow=""
	// token true: DELETE /api/articles/: 405 Allow="GET"
	// token true: GET /api/drafts/: 404 Allow=""
}

// With a UserLoader, handlers get the host's own user type.
func ExampleUser() {
	type Account struct{ Name string }
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{
		UserLoader: func(_ context.Context, userID string) (any, error) {
			return &Account{Name: "user " + userID}, nil // a real loader queries the database
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	key, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.GET("/hello/", func(c *echo.Context) error {
		acct, _ := echov5auth.User[*Account](c)
		return c.String(http.StatusOK, "hello, "+acct.Name)
	}, echov5auth.Require(auth))

	req := httptest.NewRequest(http.MethodGet, "/hello/", nil)
	req.Header.Set("Authorization", "Token "+key)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	fmt.Println(w.Body)
	// Output: hello, user 42
}
