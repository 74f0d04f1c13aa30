package introspection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// exampleService is the service holding the tokens, with both endpoints,
// and a token it issued.
func exampleService() (ts *httptest.Server, auth *tokenauth.Authenticator, key string) {
	clock := tokenauthtest.NewClock() // fixed times, for a stable output
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{Now: clock.Now})
	if err != nil {
		panic(err)
	}
	srv, err := introspection.New(auth, introspection.Options{
		Clients: introspection.StaticClients(map[string]string{"gateway": "s3cret"}),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/oauth/introspect", srv.IntrospectionHandler())
	mux.Handle("/oauth/revoke", srv.RevocationHandler())
	key, _, err = auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Scopes: []string{"read"}})
	if err != nil {
		panic(err)
	}
	return httptest.NewServer(mux), auth, key
}

// A gateway, in any language, asks whether a token is active and revokes
// it, authenticating with its client ID and secret.
func Example() {
	ts, _, key := exampleService()
	defer ts.Close()

	call := func(endpoint string) (int, map[string]any) {
		form := url.Values{"token": {key}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+endpoint, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("gateway", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &answer)
		delete(answer, "jti") // the token's random ID
		return resp.StatusCode, answer
	}
	fmt.Println(call("/oauth/introspect"))
	fmt.Println(call("/oauth/revoke"))
	fmt.Println(call("/oauth/introspect"))
	// Output:
	// 200 map[active:true iat:1.767323045e+09 scope:read sub:42 token_type:Token]
	// 200 map[]
	// 200 map[active:false]
}

// A Go resource server without access to the token store checks tokens at
// the endpoint; its handlers read the token as usual.
func ExampleNewClient() {
	ts, auth, key := exampleService()
	defer ts.Close()

	c, err := introspection.NewClient(ts.URL+"/oauth/introspect", introspection.ClientOptions{
		ClientID: "gateway", ClientSecret: "s3cret",
		CacheTTL: -1, // no cache, so that the revocation below shows at once
	})
	if err != nil {
		panic(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s, you may %v", tok.UserID, tok.Scopes)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/read/", c.Require("read")(hello))
	mux.Handle("/api/admin/", c.Require("admin")(hello))

	get := func(path string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Token "+key)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	get("/api/read/")
	get("/api/admin/")
	tok, _ := c.Verify(context.Background(), key)
	_ = auth.Revoke(context.Background(), tok.ID)
	get("/api/read/")
	// Output:
	// 200 hello 42, you may [read]
	// 403 {"detail":"You do not have permission to perform this action."}
	// 401 {"detail":"Invalid token."}
}
