package tokenauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth/internal/keyformat"
)

// IssueOptions describes a token to issue.
type IssueOptions struct {
	Name   string
	Scopes []string
	TTL    time.Duration // an absolute lifetime; zero means DefaultTTL
	// CreatedAt is when the holder proved who they are (zero: now), as a
	// login's password check: a later password change voids it (ErrRevoked).
	CreatedAt time.Time
	// These become the Token's fields. Issue refuses an invalid prefix, a
	// negative RateLimit or one without a positive RateWindow, a NotBefore
	// past the expiry; it cuts UserAgent to 256 bytes of printable UTF-8.
	Personal               bool
	NotBefore              time.Time
	AllowedIPs, DeniedIPs  []netip.Prefix
	RateLimit              int
	RateWindow             time.Duration
	CreatedFrom, UserAgent string
}

// Issue creates a token for userID and returns its plaintext, shown once
// and never stored, and its record. It returns ErrRevoked if the user's
// tokens were revoked after o.CreatedAt, or an error wrapping
// ErrUnavailable.
func (a *Authenticator) Issue(ctx context.Context, userID string, o IssueOptions) (string, *Token, error) {
	deadline, err := a.deadline(o.TTL)
	if err != nil {
		return "", nil, err
	}
	key, err := keyformat.Generate(a.opts.Prefix, a.sum)
	if err != nil {
		return "", nil, err
	}
	t, err := a.create(ctx, key, userID, o, deadline)
	if err != nil {
		return "", nil, err
	}
	return key, t, nil
}

// Import stores a key issued elsewhere (DRF's or a UUID, see Options), so
// that clients keep it; expiry counts from now. It returns ErrInvalidToken
// for a key this Authenticator refuses, ErrExists, or ErrRevoked.
func (a *Authenticator) Import(ctx context.Context, key, userID string, o IssueOptions) (*Token, error) {
	if !a.wellFormed(key) {
		return nil, ErrInvalidToken
	}
	deadline, err := a.deadline(o.TTL)
	if err != nil {
		return nil, err
	}
	return a.create(ctx, key, userID, o, deadline)
}

// deadline returns the absolute expiry of a token issued now with ttl (or
// DefaultTTL); zero means none.
func (a *Authenticator) deadline(ttl time.Duration) (time.Time, error) {
	if ttl < 0 {
		return time.Time{}, fmt.Errorf("tokenauth: negative TTL %s", ttl)
	}
	if ttl = cmp.Or(ttl, a.opts.DefaultTTL); ttl == 0 {
		return time.Time{}, nil
	}
	return a.now().Add(ttl), nil
}

// now is the clock's time as stores keep it: UTC, to the microsecond.
func (a *Authenticator) now() time.Time {
	return a.opts.Now().UTC().Truncate(time.Microsecond)
}

// create stores a new record for key, expiring at deadline (zero: never)
// or earlier through IdleTimeout. o.TTL is ignored.
func (a *Authenticator) create(ctx context.Context, key, userID string, o IssueOptions, deadline time.Time) (*Token, error) {
	if userID == "" {
		return nil, errors.New("tokenauth: empty user ID")
	}
	id, err := keyformat.NewID()
	if err != nil {
		return nil, err
	}
	now := a.now()
	created := now
	if !o.CreatedAt.IsZero() {
		created = o.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	t := &Token{
		ID:           id,
		UserID:       userID,
		Name:         o.Name,
		Scopes:       slices.Clone(o.Scopes),
		CreatedAt:    created,
		ExpiresAt:    a.slide(now, deadline),
		MaxExpiresAt: deadline,
		Digest:       a.opts.Hasher.Digest(key),
		Personal:     o.Personal,
		RateLimit:    o.RateLimit,
		RateWindow:   o.RateWindow,
		CreatedFrom:  printable(o.CreatedFrom, maxCreatedFrom),
		UserAgent:    printable(o.UserAgent, maxUserAgent),
	}
	if err := constraints(t, o, deadline); err != nil {
		return nil, err
	}
	out := t.Clone()
	sctx, release := a.bound(ctx)
	defer release()
	switch err := a.store.Create(sctx, t); {
	case errors.Is(err, ErrExists):
		return nil, ErrExists
	case errors.Is(err, ErrRevoked):
		return nil, ErrRevoked
	case err != nil:
		return nil, a.storeError(ctx, "create", err)
	}
	return out, nil
}

// slide returns when a token used at now expires: now+IdleTimeout, never
// past deadline; deadline alone without IdleTimeout.
func (a *Authenticator) slide(now, deadline time.Time) time.Time {
	if a.opts.IdleTimeout <= 0 {
		return deadline
	}
	idle := now.Add(a.opts.IdleTimeout).UTC().Truncate(time.Microsecond)
	if !deadline.IsZero() && deadline.Before(idle) {
		return deadline
	}
	return idle
}

// What a user is shown of a token's origin is kept short: a client
// chooses its User-Agent.
const (
	maxUserAgent   = 256
	maxCreatedFrom = 64
)

// constraints copies o's constraints to t, checked and in the form every
// store keeps: UTC to the microsecond, prefixes masked and unmapped.
func constraints(t *Token, o IssueOptions, deadline time.Time) error {
	switch {
	case o.RateLimit < 0 || o.RateWindow < 0:
		return errors.New("tokenauth: negative RateLimit or RateWindow")
	case o.RateLimit > 0 && o.RateWindow == 0:
		return errors.New("tokenauth: RateLimit needs a RateWindow")
	case o.RateLimit == 0 && o.RateWindow != 0:
		return errors.New("tokenauth: RateWindow without a RateLimit")
	}
	if !o.NotBefore.IsZero() {
		t.NotBefore = o.NotBefore.UTC().Truncate(time.Microsecond)
		if !deadline.IsZero() && !t.NotBefore.Before(deadline) {
			return errors.New("tokenauth: NotBefore is not before the expiry")
		}
	}
	var err error
	if t.AllowedIPs, err = normalPrefixes(o.AllowedIPs); err != nil {
		return err
	}
	t.DeniedIPs, err = normalPrefixes(o.DeniedIPs)
	return err
}

func normalPrefixes(ps []netip.Prefix) ([]netip.Prefix, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		if !p.IsValid() {
			return nil, fmt.Errorf("tokenauth: invalid address range %q", p)
		}
		out[i] = unmapPrefix(p.Masked())
	}
	return out, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n, n >= 96, into a.b.c.d/(n-96), the
// range the unmapped client addresses fall in.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// printable returns s as valid UTF-8 without control characters, cut to
// at most n bytes on a character boundary: stores keep it as text, and
// users are shown it.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
