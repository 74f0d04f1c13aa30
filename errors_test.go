package tokenauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	detailNotProvided = "Authentication credentials were not provided."
	detailUnavailable = "Authentication service temporarily unavailable, try again later."
)

func TestClassify(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth"})
	key := tokenauthtest.Issue(t, a, "1", "read")
	// checkErr is Check's error for a request with the given
	// Authorization header and cookies.
	checkErr := func(header string, p tokenauth.Policy, cookies ...string) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		for _, c := range cookies {
			r.AddCookie(&http.Cookie{Name: "auth", Value: c})
		}
		_, err := a.Check(r, p)
		require.Error(t, err)
		return err
	}
	crossSite := func() error {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.AddCookie(&http.Cookie{Name: "auth", Value: key})
		r.Header.Set("Origin", "https://evil.example")
		_, err := a.Check(r, tokenauth.Policy{})
		require.Error(t, err)
		return err
	}

	cases := []struct {
		name      string
		err       error
		status    int
		detail    string
		malformed bool
	}{
		{"no credentials", tokenauth.ErrNoCredentials, 401, detailNotProvided, false},
		{"no credentials from Check", checkErr("", tokenauth.Policy{}), 401, detailNotProvided, false},
		{"keyword alone", checkErr("Token", tokenauth.Policy{}), 401, "Invalid token header. No credentials provided.", true},
		{"spaces", checkErr("Token a b", tokenauth.Policy{}), 401, "Invalid token header. Token string should not contain spaces.", true},
		{"invalid characters", checkErr("Token a\x00b", tokenauth.Policy{}), 401, "Invalid token header. Token string should not contain invalid characters.", true},
		{"not UTF-8", checkErr("Token \xff\xfe", tokenauth.Policy{}), 401, "Invalid token header. Token string should not contain invalid characters.", true},
		{"duplicate cookie", checkErr("", tokenauth.Policy{}, key, key), 401, "Invalid token cookie. The cookie was sent more than once.", true},
		{"invalid token", tokenauth.ErrInvalidToken, 401, "Invalid token.", false},
		{"invalid token from Check", checkErr("Token nope", tokenauth.Policy{}), 401, "Invalid token.", false},
		{"expired", tokenauth.ErrExpired, 401, "Token has expired.", false},
		{"wrapped expired", fmt.Errorf("rotating: %w", tokenauth.ErrExpired), 401, "Token has expired.", false},
		{"user inactive", tokenauth.ErrUserInactive, 401, "User inactive or deleted.", false},
		{"insufficient scope", tokenauth.ErrInsufficientScope, 403, "You do not have permission to perform this action.", false},
		{"insufficient scope from Check", checkErr("Token "+key, tokenauth.Policy{Scopes: []string{"write"}}), 403, "You do not have permission to perform this action.", false},
		{"cross-site cookie", crossSite(), 403, "CSRF Failed: Origin checking failed.", false},
		{"unavailable", tokenauth.ErrUnavailable, 503, detailUnavailable, false},
		{"wrapped unavailable", fmt.Errorf("%w: dial tcp: refused", tokenauth.ErrUnavailable), 503, detailUnavailable, false},
		{"unknown error", errors.New("something unexpected"), 503, detailUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, detail := tokenauth.Classify(tc.err)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.detail, detail)
			assert.Equal(t, tc.malformed, errors.Is(tc.err, tokenauth.ErrMalformedHeader))
			assert.NotContains(t, tc.err.Error(), key, "error text never holds the key")
		})
	}

	// The bare sentinel, as a custom extractor might return it.
	status, detail := tokenauth.Classify(tokenauth.ErrMalformedHeader)
	assert.Equal(t, 401, status)
	assert.True(t, strings.HasPrefix(detail, "Invalid token header."), detail)
	assert.ErrorIs(t, tokenauth.ErrExpired, tokenauth.ErrInvalidToken, "expired is a kind of invalid")
}
