// Command readme is the net/http program shown in the repository README; a
// test keeps the two identical and runs it.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

func main() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	key, _, _ := auth.Issue(context.Background(), "alice", tokenauth.IssueOptions{Name: "demo"})
	fmt.Println("token:", key)

	http.Handle("/hello", auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		fmt.Fprintf(w, "hello, %s\n", tok.UserID)
	})))
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080"), nil))
}
