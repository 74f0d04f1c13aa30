package tokenauth

import (
	"net/netip"
	"slices"
	"time"
)

// Token is the stored record of an issued token: its Digest, never the
// plaintext. Records from a Store, an Authenticator or a request context
// may be shared: treat them as read-only, and Clone one to change it.
type Token struct {
	ID        string    // public: safe to show, log and revoke by; not a credential
	UserID    string    // the host application's identifier of the owner
	Name      string    // what it is for: a device, a script, "login"
	Scopes    []string  // the permissions it carries; see HasScopes
	CreatedAt time.Time // when issued, or IssueOptions.CreatedAt
	// ExpiresAt is when the token stops working (zero: never); with
	// Options.IdleTimeout each recorded use moves it forward, never past
	// MaxExpiresAt, the absolute deadline (the TTL at issue; zero: none).
	ExpiresAt    time.Time
	MaxExpiresAt time.Time
	LastUsedAt   time.Time // recorded at most once per TouchInterval; zero if never
	Digest       []byte    // the Hasher's digest of the plaintext; stores find it by it

	Personal  bool      // a personal access token (a script, CI), not a login's session
	NotBefore time.Time // when it starts working; zero means at once
	// AllowedIPs, if any, are the only client ranges the token works from,
	// DeniedIPs ones it never does; IPv4-mapped addresses match IPv4 ranges.
	AllowedIPs, DeniedIPs []netip.Prefix
	// RateLimit, when positive, is how many requests the token may make
	// in each RateWindow; past it, the client gets 429.
	RateLimit  int
	RateWindow time.Duration
	// CreatedFrom and UserAgent are the issuing client's address and
	// User-Agent (cut to 256 bytes), to show the user; never checked.
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
