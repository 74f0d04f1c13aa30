package introspection

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// claims are the members of an introspection answer (RFC 7662 §2.2) that
// tokenauth knows. The Server writes them and the Client reads them.
type claims struct {
	Active    *bool       `json:"active"`
	Scope     string      `json:"scope,omitempty"`
	Username  string      `json:"username,omitempty"`
	TokenType string      `json:"token_type,omitempty"`
	Exp       json.Number `json:"exp,omitempty"`
	Iat       json.Number `json:"iat,omitempty"`
	Sub       string      `json:"sub,omitempty"`
	Jti       string      `json:"jti,omitempty"` // the token's public ID
}

// inactive is the whole answer for a token that is not active: RFC 7662
// §2.2 says nothing more should be told.
const inactive = `{"active":false}`

// claimsOf describes an active token. Scopes that are not RFC 6749 scope
// tokens are left out: joined with spaces, "read admin" would read as two
// scopes, one of them "admin".
func claimsOf(t *tokenauth.Token, tokenType string) claims {
	active := true
	c := claims{Active: &active, TokenType: tokenType, Sub: t.UserID, Jti: t.ID}
	scopes := make([]string, 0, len(t.Scopes))
	for _, s := range t.Scopes {
		if validScope(s) {
			scopes = append(scopes, s)
		}
	}
	c.Scope = strings.Join(scopes, " ")
	if exp := expiry(t); !exp.IsZero() {
		c.Exp = json.Number(strconv.FormatInt(exp.Unix(), 10))
	}
	if !t.CreatedAt.IsZero() {
		c.Iat = json.Number(strconv.FormatInt(t.CreatedAt.Unix(), 10))
	}
	return c
}

// expiry is when t stops working: the earlier of its expiry and its
// absolute deadline; zero for never.
func expiry(t *tokenauth.Token) time.Time {
	switch {
	case t.ExpiresAt.IsZero():
		return t.MaxExpiresAt
	case t.MaxExpiresAt.IsZero() || t.ExpiresAt.Before(t.MaxExpiresAt):
		return t.ExpiresAt
	}
	return t.MaxExpiresAt
}

// validScope reports whether s is a scope token (RFC 6749 §3.3):
// visible ASCII but for the space, '"' and '\'.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// errMalformed: the endpoint's answer is not an introspection answer.
var errMalformed = errors.New("introspection: malformed answer from the endpoint")

// parseAnswer reads an introspection answer into a token record, or
// returns tokenauth.ErrInvalidToken for an inactive token and errMalformed
// for anything that is not an answer, which the Client treats as an
// outage: a proxy's error page must not make clients drop good tokens.
func parseAnswer(data []byte) (*tokenauth.Token, error) {
	var c claims
	if err := json.Unmarshal(data, &c); err != nil || c.Active == nil {
		return nil, errMalformed
	}
	if !*c.Active {
		return nil, tokenauth.ErrInvalidToken
	}
	t := &tokenauth.Token{ID: c.Jti, UserID: c.Sub, Scopes: strings.Fields(c.Scope)}
	var err1, err2 error
	t.ExpiresAt, err1 = numericDate(c.Exp)
	t.MaxExpiresAt = t.ExpiresAt
	t.CreatedAt, err2 = numericDate(c.Iat)
	if err1 != nil || err2 != nil {
		return nil, errMalformed
	}
	return t, nil
}

// maxDate is 9999-12-31, past which no date is plausible.
const maxDate = 253402300800

// numericDate reads an RFC 7519 NumericDate, seconds since the epoch,
// possibly with a fraction; empty is the zero time.
func numericDate(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 1 || f >= maxDate {
		return time.Time{}, errMalformed
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
