package login

import (
	"context"
	"errors"
	"time"
)

// CredentialChecker verifies a username and password against the host's
// users. It returns what the login grants (the user to issue a token to,
// and the token's scopes where they depend on the user) or, when the
// password is wrong, the user unknown or inactive, an error wrapping
// ErrBadCredentials. The client gets the same answer in all three cases, so
// that it cannot learn which usernames exist. Any other error is an outage:
// the client gets 503 with Retry-After, the error is logged (with the
// password masked) and never shown.
//
// The username arrives trimmed of surrounding white space; the password
// exactly as sent. Neither is empty, holds a NUL character or is invalid
// UTF-8. ctx ends after Options.Timeout or when the client hangs up: pass
// it to the database.
//
// The checker should spend the same time on an unknown user as on a wrong
// password, or response times tell an attacker which usernames exist:
// when there is no such user, compare the password with a dummy hash. A
// checker over golang.org/x/crypto/bcrypt:
//
//	var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
//
//	func (s *Users) CheckCredentials(ctx context.Context, username, password string) (login.Grant, error) {
//		u, err := s.ByUsername(ctx, username)
//		if errors.Is(err, sql.ErrNoRows) {
//			_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // as slow as a wrong password
//			return login.Grant{}, login.ErrBadCredentials
//		}
//		if err != nil {
//			return login.Grant{}, err // the database is down: 503
//		}
//		// Any bcrypt error is a refusal: a mismatch, or a password over
//		// bcrypt's 72 bytes, which must not turn into a 503.
//		if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil || !u.Active {
//			return login.Grant{}, login.ErrBadCredentials
//		}
//		g := login.Grant{UserID: u.ID}
//		if u.IsAdmin {
//			g.Scopes = []string{"admin"}
//		}
//		return g, nil
//	}
type CredentialChecker interface {
	CheckCredentials(ctx context.Context, username, password string) (Grant, error)
}

// Grant is what an accepted login gets: a token for UserID. The other
// fields let the checker choose the token per user; left zero, they take
// Options' values.
type Grant struct {
	// UserID is the host's identifier of the user. Required.
	UserID string
	// Scopes the token carries, such as "admin" for an administrator.
	// Default Options.Scopes.
	Scopes []string
	// TokenName names the token. Default Options.TokenName.
	TokenName string
	// TTL is the token's lifetime. Default Options.TTL.
	TTL time.Duration
}

// CredentialCheckerFunc adapts a function to the CredentialChecker
// interface.
type CredentialCheckerFunc func(ctx context.Context, username, password string) (Grant, error)

// CheckCredentials calls f.
func (f CredentialCheckerFunc) CheckCredentials(ctx context.Context, username, password string) (Grant, error) {
	return f(ctx, username, password)
}

// ErrBadCredentials is what a CredentialChecker returns, possibly wrapped,
// for a wrong password, an unknown user or an inactive user. The handler
// answers it with Django REST Framework's 400
// {"non_field_errors": ["Unable to log in with provided credentials."]}.
var ErrBadCredentials = errors.New("tokenauth: unable to log in with provided credentials")
