// Command client is the Go side of a token-authenticated API: it logs in
// with client.Login, calls a protected route with the client that
// client.New returns, which sends the token with every request
// and gives up on a request after 30 seconds, and logs out. It talks to
// the quickstart, or to any server with the same routes, Django REST
// Framework's included:
//
//	go run ./examples/quickstart &
//	go run ./examples/client -url http://127.0.0.1:8000 -username alice
//
// The password is read from $CLIENT_PASSWORD, or is the quickstart's demo
// password: a password on a command line is visible to other users.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"

	"github.com/go-tokenauth/tokenauth/client"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8000", "the server's base `URL`")
	username := flag.String("username", "alice", "the `user` to log in as")
	flag.Parse()
	password := cmp.Or(os.Getenv("CLIENT_PASSWORD"), "password")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *base, *username, password, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, base, username, password string, out io.Writer) error {
	key, err := client.Login(ctx, nil, base+"/api-token-auth/", username, password)
	var refused *client.LoginError
	switch {
	case errors.As(err, &refused) && refused.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("too many failed logins; try again in %s", refused.RetryAfter)
	case errors.As(err, &refused) && refused.Fields["non_field_errors"] != nil:
		return errors.New("wrong username or password")
	case err != nil:
		return err // another refusal (400 for a missing field, 503), or no answer
	}
	fmt.Fprintln(out, "logged in as", username)

	api := client.New(key)
	if err := call(ctx, api, http.MethodGet, base+"/api/protected/", out); err != nil {
		return err
	}
	return call(ctx, api, http.MethodPost, base+"/api/logout/", out)
}

// call sends a request with the client's token and prints the answer.
func call(ctx context.Context, api *http.Client, method, url string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s: %s %s\n", method, req.URL.Path, resp.Status, body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, req.URL.Path, resp.Status)
	}
	return nil
}
