package main

import (
	"context"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

// user is an account. The quickstart's demo users, compiled in so that
// every replica has the same ones over any store; a real service reads
// its users table here (the quickstart shows one).
type user struct {
	ID       string
	Username string
	Active   bool
	Admin    bool // logins get the scope "admin"
}

// demoPassword is every demo user's password.
const demoPassword = "password"

var (
	demoUsers = []*user{
		{ID: "1", Username: "alice", Active: true},
		{ID: "2", Username: "bob"}, // inactive: refused at login, and its tokens at every check
		{ID: "3", Username: "admin", Active: true, Admin: true},
	}
	// demoHash is demoPassword's bcrypt hash. A login that names no user
	// is compared with it too, so that an unknown user costs as much time
	// as a wrong password and response times do not tell which usernames
	// exist.
	demoHash, _ = bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.DefaultCost)
)

// checkCredentials is the login endpoint's CredentialChecker: the token
// it grants carries the scope "admin" for administrators.
func checkCredentials(_ context.Context, username, password string) (login.Grant, error) {
	var u *user
	for _, d := range demoUsers {
		if d.Username == username {
			u = d
		}
	}
	// Any bcrypt error is a refusal: a mismatch, or a password over
	// bcrypt's 72 bytes.
	ok := bcrypt.CompareHashAndPassword(demoHash, []byte(password)) == nil
	if u == nil || !ok || !u.Active {
		return login.Grant{}, login.ErrBadCredentials
	}
	g := login.Grant{UserID: u.ID}
	if u.Admin {
		g.Scopes = []string{"admin"}
	}
	return g, nil
}

// loadUser is the Authenticator's UserLoader: the client gets 401 "User
// inactive or deleted." for an inactive or unknown user. IDs compare
// exactly: "01" or " 1" is not alice.
func loadUser(_ context.Context, userID string) (any, error) {
	for _, u := range demoUsers {
		if u.ID == userID {
			if !u.Active {
				return nil, tokenauth.ErrUserInactive
			}
			return u, nil
		}
	}
	return nil, tokenauth.ErrNotFound
}
