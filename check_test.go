package tokenauth_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	hmacHasher, err := tokenauth.NewHMAC(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	for name, h := range map[string]tokenauth.Hasher{"sha256": tokenauth.SHA256, "hmac": hmacHasher, "custom": customHasher{}} {
		t.Run(name, func(t *testing.T) {
			a, s := tokenauthtest.New(t, tokenauth.Options{Hasher: h, Logger: quiet})
			key := tokenauthtest.Issue(t, a, "7", "read")

			type parentKey struct{}
			parent := context.WithValue(context.Background(), parentKey{}, "kept")
			r := keyRequest(key).WithContext(parent)
			ctx, err := a.Check(r, tokenauth.Policy{})
			require.NoError(t, err)
			tok, ok := tokenauth.FromContext(ctx)
			require.True(t, ok)
			assert.Equal(t, "7", tok.UserID)
			assert.Equal(t, h.Digest(key), tok.Digest, "the store was asked for the Hasher's digest")
			assert.Equal(t, "kept", ctx.Value(parentKey{}), "the context derives from the request's")
			_, ok = tokenauth.FromContext(r.Context())
			assert.False(t, ok, "Check does not modify r")

			// No context on error.
			for k, want := range map[string]error{
				"":                      tokenauth.ErrNoCredentials,
				"garbage":               tokenauth.ErrInvalidToken,
				strings.Repeat("0", 40): tokenauth.ErrInvalidToken,
				unknownKey(t):           tokenauth.ErrInvalidToken,
			} {
				ctx, err := a.Check(keyRequest(k), tokenauth.Policy{})
				assert.ErrorIs(t, err, want, "key %q", k)
				assert.Nil(t, ctx)
			}
			s.SetErr(errors.New("connection refused"))
			ctx, err = a.Check(r, tokenauth.Policy{})
			assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
			assert.Nil(t, ctx)
		})
	}
}

func TestCheckOptional(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	key := tokenauthtest.Issue(t, a, "1")
	optional := tokenauth.Policy{Optional: true}

	// Without credentials: through, anonymous, with the request's own
	// context and no store call.
	for name, r := range map[string]*http.Request{
		"no header":     keyRequest(""),
		"other scheme":  func() *http.Request { r := keyRequest(""); r.Header.Set("Authorization", "Basic eDp5"); return r }(),
		"empty keyword": func() *http.Request { r := keyRequest(""); r.Header.Set("Authorization", "   "); return r }(),
	} {
		t.Run(name, func(t *testing.T) {
			before := s.Calls()
			ctx, err := a.Check(r, optional)
			require.NoError(t, err)
			assert.True(t, ctx == r.Context(), "the request's context itself")
			_, ok := tokenauth.FromContext(ctx)
			assert.False(t, ok)
			assert.Equal(t, before, s.Calls())
		})
	}

	// With credentials, good or bad, as Require.
	ctx, err := a.Check(keyRequest(key), optional)
	require.NoError(t, err)
	tok, ok := tokenauth.FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, "1", tok.UserID)
	_, err = a.Check(keyRequest(unknownKey(t)), optional)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	r := keyRequest("")
	r.Header.Set("Authorization", "Token")
	_, err = a.Check(r, optional)
	assert.ErrorIs(t, err, tokenauth.ErrMalformedHeader)

	// Scopes apply to a token; an anonymous request has none to check.
	ctx, err = a.Check(keyRequest(""), tokenauth.Policy{Optional: true, Scopes: []string{"admin"}})
	require.NoError(t, err)
	_, ok = tokenauth.FromContext(ctx)
	assert.False(t, ok)
	_, err = a.Check(keyRequest(key), tokenauth.Policy{Optional: true, Scopes: []string{"admin"}})
	assert.ErrorIs(t, err, tokenauth.ErrInsufficientScope)
}

// A Principal already in the context (from an outer middleware) is used
// as it is: no lookup, and the request's context comes back unchanged.
func TestCheckReusesPrincipal(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{})
	r := tokenauthtest.WithUser(httptest.NewRequest(http.MethodGet, "/", nil), "bob", "Bob", "read")
	r.Header.Set("Authorization", "Token garbage") // not looked at

	before := s.Calls()
	ctx, err := a.Check(r, tokenauth.Policy{Scopes: []string{"read"}})
	require.NoError(t, err)
	assert.True(t, ctx == r.Context())
	user, ok := tokenauth.UserFromContext[string](ctx)
	assert.True(t, ok)
	assert.Equal(t, "Bob", user)
	assert.Equal(t, before, s.Calls(), "no store call")

	ctx, err = a.Check(r, tokenauth.Policy{Scopes: []string{"read", "write"}})
	assert.ErrorIs(t, err, tokenauth.ErrInsufficientScope)
	assert.Nil(t, ctx)

	// A Principal without a token is not an authentication.
	anon := keyRequest("")
	anon = anon.WithContext(tokenauth.NewContext(anon.Context(), tokenauth.Principal{User: "ghost"}))
	_, err = a.Check(anon, tokenauth.Policy{})
	assert.ErrorIs(t, err, tokenauth.ErrNoCredentials)
}

// cookieRequest is a request carrying key in the "auth" cookie only, with
// the given extra headers.
func cookieRequest(method, key string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, "/", nil) // Host: example.com
	r.AddCookie(&http.Cookie{Name: "auth", Value: key})
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// Two cookies of the configured name are refused: which one the browser
// sends first is not defined, and a sibling subdomain can plant one.
func TestCookieDuplicate(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth"})
	key := tokenauthtest.Issue(t, a, "1")
	planted := tokenauthtest.Issue(t, a, "666")
	for name, values := range map[string][]string{
		"same value":    {key, key},
		"planted first": {planted, key},
		"planted last":  {key, planted},
		"one empty":     {"", key},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range values {
				r.AddCookie(&http.Cookie{Name: "auth", Value: v})
			}
			rec := serve(a.Require()(whoami), r)
			assert.Equal(t, 401, rec.Code)
			assert.JSONEq(t, `{"detail":"Invalid token cookie. The cookie was sent more than once."}`, rec.Body.String())
			assert.Equal(t, "Token", rec.Header().Get("WWW-Authenticate"))
		})
	}

	// One cookie, and others of other names, are fine.
	r := cookieRequest(http.MethodGet, key)
	r.AddCookie(&http.Cookie{Name: "session", Value: "x"})
	assert.Equal(t, "1", serve(a.Require()(whoami), r).Body.String())
	// An Authorization header takes precedence over the cookies.
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "auth", Value: planted})
	r.AddCookie(&http.Cookie{Name: "auth", Value: key})
	r.Header.Set("Authorization", "Token "+key)
	assert.Equal(t, "1", serve(a.Require()(whoami), r).Body.String())
}

// A browser sends the cookie with requests other sites make it send:
// unsafe requests authenticated by the cookie alone must come from the
// same origin.
func TestCookieCrossSite(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		headers []string
		status  int
	}{
		{"POST without browser headers", http.MethodPost, nil, 200},
		{"same-origin POST", http.MethodPost, []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"user-initiated POST", http.MethodPost, []string{"Sec-Fetch-Site", "none"}, 200},
		{"POST with matching Origin", http.MethodPost, []string{"Origin", "http://example.com"}, 200},
		{"cross-site POST", http.MethodPost, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site POST", http.MethodPost, []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"cross-site POST, same-origin Origin", http.MethodPost, []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://example.com"}, 403},
		{"POST from a foreign Origin", http.MethodPost, []string{"Origin", "https://evil.example"}, 403},
		{"cross-site PUT", http.MethodPut, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site PATCH", http.MethodPatch, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site DELETE", http.MethodDelete, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site GET", http.MethodGet, []string{"Sec-Fetch-Site", "cross-site"}, 200},
		{"cross-site HEAD", http.MethodHead, []string{"Sec-Fetch-Site", "cross-site"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth"})
			key := tokenauthtest.Issue(t, a, "1")
			rec := serve(a.Require()(whoami), cookieRequest(tc.method, key, tc.headers...))
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status == 403 {
				assert.JSONEq(t, `{"detail":"CSRF Failed: Origin checking failed."}`, rec.Body.String())
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
				// Optional routes refuse too: the request carried credentials.
				assert.Equal(t, 403, serve(a.Optional()(whoami), cookieRequest(tc.method, key, tc.headers...)).Code)
			} else if tc.method != http.MethodHead {
				assert.Equal(t, "1", rec.Body.String())
			}
		})
	}

	t.Run("Authorization header", func(t *testing.T) {
		// A header is never sent by the browser on its own: no origin check.
		a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth"})
		key := tokenauthtest.Issue(t, a, "1")
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Token "+key)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		assert.Equal(t, "1", serve(a.Require()(whoami), r).Body.String())
	})

	t.Run("logout", func(t *testing.T) {
		// A cross-site form cannot log the user out.
		a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth"})
		key := tokenauthtest.Issue(t, a, "1")
		for _, h := range []http.Handler{a.LogoutHandler(), a.LogoutAllHandler(), a.LogoutOthersHandler(), a.Require()(a.LogoutHandler())} {
			rec := serve(h, cookieRequest(http.MethodPost, key, "Sec-Fetch-Site", "cross-site"))
			assert.Equal(t, 403, rec.Code)
			_, err := a.Verify(context.Background(), key)
			require.NoError(t, err, "the token was not revoked")
		}
		rec := serve(a.LogoutHandler(), cookieRequest(http.MethodPost, key, "Sec-Fetch-Site", "same-origin"))
		assert.Equal(t, 204, rec.Code)
		_, err := a.Verify(context.Background(), key)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "a same-origin logout revokes")
	})
}
