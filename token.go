package tokenauth

import (
	"net/netip"
	"slices"
	"time"
)

// Token is the stored record of an issued token. It never holds the
// plaintext: only its Digest, computed by the Authenticator's Hasher.
//
// Tokens returned by a Store, by an Authenticator or found in a request
// context may be shared with other goroutines (a cache hands the same record
// to every request). Treat them as read-only; use Clone for a private copy.
type Token struct {
	// ID is the public identifier, safe to show, log and use to revoke the
	// token. It is not a secret and cannot be used to authenticate.
	ID string
	// UserID is the host application's identifier of the token's owner.
	UserID string
	// Name says what the token is for: a device, a script, "login".
	Name string
	// Scopes are the permissions the token carries; see HasScope.
	Scopes []string
	// CreatedAt is when the token was issued.
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; the zero time means never.
	// With Options.IdleTimeout each recorded use moves it forward, never
	// past MaxExpiresAt.
	ExpiresAt time.Time
	// MaxExpiresAt is the absolute deadline that no use can stretch
	// ExpiresAt past (the token's TTL at issue); the zero time means none.
	MaxExpiresAt time.Time
	// LastUsedAt is when the token was last seen, recorded at most once per
	// Options.TouchInterval; zero until first use.
	LastUsedAt time.Time
	// Digest is the Hasher's digest of the plaintext; stores look tokens up
	// by it.
	Digest []byte

	// Personal marks a personal access token, made on purpose for a
	// script or CI; a login's tokens are sessions.
	Personal bool
	// NotBefore is when the token starts working; zero means at once.
	NotBefore time.Time
	// AllowedIPs, when not empty, are the only client address ranges the
	// token works from; DeniedIPs are ranges it never works from. An
	// IPv4-mapped IPv6 address matches IPv4 ranges.
	AllowedIPs, DeniedIPs []netip.Prefix
	// RateLimit, when positive, is how many requests the token may make
	// in each RateWindow; past it, the client gets 429.
	RateLimit  int
	RateWindow time.Duration
	// CreatedFrom is the client address the token was issued to, and
	// UserAgent that client's User-Agent, cut to 256 bytes: what a user is
	// shown in a list of their tokens. Neither is secret, nor checked.
	CreatedFrom, UserAgent string
}

// Clone returns a deep copy of t.
func (t *Token) Clone() *Token {
	if t == nil {
		return nil
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.Digest = slices.Clone(t.Digest)
	c.AllowedIPs = slices.Clone(t.AllowedIPs)
	c.DeniedIPs = slices.Clone(t.DeniedIPs)
	return &c
}

// Expired reports whether t's expiry, or its absolute deadline, is not
// after now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) ||
		!t.MaxExpiresAt.IsZero() && !now.Before(t.MaxExpiresAt)
}

// HasScopes reports whether t carries every scope in want. The scope "*"
// grants every scope.
func (t *Token) HasScopes(want ...string) bool {
	for _, s := range want {
		if !slices.Contains(t.Scopes, s) && !slices.Contains(t.Scopes, "*") {
			return false
		}
	}
	return true
}
