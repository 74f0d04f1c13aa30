package demoapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-tokenauth/tokenauth"
)

// DemoPassword is the password of the demo users alice and bob.
const DemoPassword = "password"

// demoUsers are created on first start: alice may log in, bob is inactive.
var demoUsers = []struct {
	username string
	active   bool
}{
	{"alice", true},
	{"bob", false},
}

// demoToken is a demo user created by this start, with its first token.
type demoToken struct {
	user  *User
	token string
}

// seed creates the demo users that are missing and issues a token to each
// one it created. Users that exist already are left alone, so a restart
// creates no duplicates and prints no token: the database keeps only
// digests, so an earlier token cannot be shown again.
func (a *App) seed(ctx context.Context) ([]demoToken, error) {
	var created []demoToken
	for _, d := range demoUsers {
		u, err := a.Users.Create(ctx, d.username, DemoPassword, d.active)
		switch {
		case errors.Is(err, ErrUsernameTaken):
			continue
		case err != nil:
			return nil, fmt.Errorf("creating demo user %s: %w", d.username, err)
		}
		key, _, err := a.Auth.Issue(ctx, u.ID, tokenauth.IssueOptions{Name: "demo"})
		if err != nil {
			return nil, fmt.Errorf("issuing a token to demo user %s: %w", d.username, err)
		}
		created = append(created, demoToken{user: u, token: key})
	}
	return created, nil
}

// printBanner tells the user what to try: the tokens of the demo users
// created by this start and curl lines to paste.
func printBanner(w io.Writer, base string, demo bool, created []demoToken) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	curl := func(args string) { line("  curl %s", args) }
	auth := func(token string) string { return `-H "Authorization: Token ` + token + `"` }

	switch {
	case len(created) > 0:
		line("Created demo users (password %q):", DemoPassword)
		for _, c := range created {
			if c.user.Active {
				line("%s token: %s", c.user.Username, c.token)
			} else {
				line("%s token (inactive user): %s", c.user.Username, c.token)
			}
		}
		line("These tokens are printed only now: the database keeps their digests, not the tokens.")
		line("")
		line("Call the API with them (an inactive user's token gets 401 \"User inactive or deleted.\"):")
		for _, c := range created {
			curl(auth(c.token) + " " + base + "/api/protected/")
		}
		line("Log in for another token:")
	case demo:
		line("The demo users exist already; their tokens were printed when they were created.")
		line("Log in as alice (password %q) for a new token:", DemoPassword)
	default:
		line("Sign up for a token (the password needs 8 characters or more):")
		curl("-d username=carol -d password=carol-secret " + base + "/api/signup/")
	}
	if demo {
		curl("-d username=alice -d password=" + DemoPassword + " " + base + "/api-token-auth/")
	}
	line("then send it:")
	curl(auth("<token>") + " " + base + "/api/protected/")
	curl("-X POST " + auth("<token>") + " " + base + "/api/logout/")
	curl("-X POST " + auth("<token>") + " " + base + "/api/logoutall/")
	line("No token needed:")
	curl(base + "/api/public/")
	if demo {
		curl("-d username=carol -d password=carol-secret " + base + "/api/signup/")
	}
	line("")
	line("Listening on %s", base)
	line("Press Ctrl-C to stop.")
	io.WriteString(w, b.String())
}
