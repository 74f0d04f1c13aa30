package selfservice_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/selfservice"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

func Example() {
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	tokens, _ := selfservice.New(auth, selfservice.Options{})
	mux := http.NewServeMux()
	mux.Handle("/api/tokens/", http.StripPrefix("/api/tokens", tokens))

	session, _, _ := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Name: "login"})
	r := httptest.NewRequest("POST", "/api/tokens/", strings.NewReader(
		`{"name":"ci","allowed_ips":["192.0.2.0/24"],"rate_limit":{"limit":60,"window_seconds":60}}`))
	r.Header.Set("Authorization", "Token "+session)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `"token":"tka_`))
	// Output: 201 true
}
