package tokenauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// whoami answers with the authenticated user ID, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if tok, ok := tokenauth.FromContext(r.Context()); ok {
		_, _ = w.Write([]byte(tok.UserID))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestKeywords(t *testing.T) {
	cases := []struct {
		name     string
		opts     tokenauth.Options
		header   string // KEY is replaced by a valid key
		status   int
		wwwAuthn string
	}{
		{"default is Token", tokenauth.Options{}, "Token KEY", 200, ""},
		{"default refuses Bearer", tokenauth.Options{}, "Bearer KEY", 401, "Token"},
		{"Bearer on request", tokenauth.Options{Keywords: []string{"Bearer"}}, "bearer KEY", 200, ""},
		{"Bearer refuses Token", tokenauth.Options{Keywords: []string{"Bearer"}}, "Token KEY", 401, "Bearer"},
		{"both", tokenauth.Options{Keywords: []string{"Token", "Bearer"}}, "Bearer KEY", 200, ""},
		{"raw header off", tokenauth.Options{}, "KEY", 401, "Token"},
		{"raw header on", tokenauth.Options{RawHeader: true}, "KEY", 200, ""},
		{"raw header still takes keyword", tokenauth.Options{RawHeader: true}, "Token KEY", 200, ""},
		{"raw header with spaces", tokenauth.Options{RawHeader: true}, "KEY extra", 401, "Token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := tokenauthtest.New(t, tc.opts)
			key := tokenauthtest.Issue(t, a, "1")
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", strings.ReplaceAll(tc.header, "KEY", key))
			rec := serve(a.Require(whoami), r)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, tc.wwwAuthn, rec.Header().Get("WWW-Authenticate"))
		})
	}
}

func TestCookieAndQuerySources(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth", QueryParam: "token"})
	key := tokenauthtest.Issue(t, a, "1")
	other := tokenauthtest.Issue(t, a, "2")
	h := a.Require(whoami)

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "auth", Value: key})
	assert.Equal(t, "1", serve(h, r).Body.String())

	r = httptest.NewRequest("GET", "/?token="+url.QueryEscape(key), nil)
	assert.Equal(t, "1", serve(h, r).Body.String())

	// The header wins over the cookie.
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "auth", Value: key})
	r.Header.Set("Authorization", "Token "+other)
	assert.Equal(t, "2", serve(h, r).Body.String())

	r = httptest.NewRequest("GET", "/?token=bad", nil)
	assert.Equal(t, 401, serve(h, r).Code)

	// Not configured: ignored.
	b, _ := tokenauthtest.New(t, tokenauth.Options{})
	k := tokenauthtest.Issue(t, b, "1")
	r = httptest.NewRequest("GET", "/?token="+url.QueryEscape(k), nil)
	r.AddCookie(&http.Cookie{Name: "auth", Value: k})
	rec := serve(b.Require(whoami), r)
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"detail":"Authentication credentials were not provided."}`, rec.Body.String())
}

func TestDuplicateAuthorizationHeaders(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	key := tokenauthtest.Issue(t, a, "1")
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Token "+key)
	r.Header.Add("Authorization", "Token "+key)
	rec := serve(a.Require(whoami), r)
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"detail":"Invalid token header. Token string should not contain spaces."}`, rec.Body.String())

	// Another scheme beside ours is ambiguous too.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Basic eDp5")
	r.Header.Add("Authorization", "Token "+key)
	assert.Equal(t, 401, serve(a.Require(whoami), r).Code)
}

func TestRequireScopes(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	reader := tokenauthtest.Issue(t, a, "1", "read")
	admin := tokenauthtest.Issue(t, a, "2", "*")
	standalone := a.RequireScopes("read")(whoami)
	chained := a.Require(a.RequireScopes("read", "write")(whoami))

	req := func(key string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		if key != "" {
			r.Header.Set("Authorization", "Token "+key)
		}
		return r
	}
	assert.Equal(t, "1", serve(standalone, req(reader)).Body.String())
	assert.Equal(t, 401, serve(standalone, req("")).Code)
	rec := serve(chained, req(reader))
	assert.Equal(t, 403, rec.Code)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"detail":"You do not have permission to perform this action."}`, rec.Body.String())
	assert.Equal(t, "2", serve(chained, req(admin)).Body.String(), `"*" grants every scope`)
}

func TestBearerErrorHandler(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{
		Keywords:     []string{"Bearer"},
		ErrorHandler: tokenauth.BearerErrorHandler("api"),
		Logger:       quiet,
	})
	key := tokenauthtest.Issue(t, a, "1")
	cases := []struct {
		header, challenge string
		status            int
	}{
		{"", `Bearer realm="api"`, 401},
		{"Bearer", `Bearer realm="api", error="invalid_request", error_description="Invalid token header. No credentials provided."`, 400},
		{"Bearer nope", `Bearer realm="api", error="invalid_token", error_description="Invalid token."`, 401},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		rec := serve(a.Require(whoami), r)
		assert.Equal(t, tc.status, rec.Code, tc.header)
		assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"), tc.header)
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	rec := serve(a.RequireScopes("admin", "write")(whoami), r)
	assert.Equal(t, 403, rec.Code)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", error_description="You do not have permission to perform this action.", scope="admin write"`, rec.Header().Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"insufficient_scope","error_description":"You do not have permission to perform this action."}`, rec.Body.String())

	s.SetErr(errors.New("boom"))
	rec = serve(a.Require(whoami), r)
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.NotContains(t, rec.Body.String(), "boom")
}

func TestCustomErrorHandler(t *testing.T) {
	var got error
	a, _ := tokenauthtest.New(t, tokenauth.Options{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}})
	rec := serve(a.Require(whoami), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.ErrorIs(t, got, tokenauth.ErrNoCredentials)
}

func TestRetryAfterOption(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{RetryAfter: 1500 * time.Millisecond, Logger: quiet})
	key := tokenauthtest.Issue(t, a, "1")
	s.SetErr(errors.New("down"))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Token "+key)
	rec := serve(a.Require(whoami), r)
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"), "rounded up to whole seconds")
}

func TestContextGetters(t *testing.T) {
	ctx := context.Background()
	_, ok := tokenauth.FromContext(ctx)
	assert.False(t, ok)
	_, ok = tokenauth.UserFromContext[string](ctx)
	assert.False(t, ok)
	_, ok = tokenauth.PrincipalFromContext(ctx)
	assert.False(t, ok)

	type key struct{}
	base := context.WithValue(ctx, key{}, "kept")
	tok := &tokenauth.Token{ID: "t", UserID: "u"}
	ctx = tokenauth.NewContext(base, tokenauth.Principal{Token: tok, User: "alice"})
	got, ok := tokenauth.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, tok, got)
	u, ok := tokenauth.UserFromContext[string](ctx)
	assert.True(t, ok)
	assert.Equal(t, "alice", u)
	_, ok = tokenauth.UserFromContext[int](ctx)
	assert.False(t, ok, "wrong type")
	assert.Equal(t, "kept", ctx.Value(key{}), "other values stay reachable")

	// Cancellation propagates through the principal context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.Error(t, cctx.Err())
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err    error
		status int
		detail string
	}{
		{tokenauth.ErrNoCredentials, 401, tokenauth.DetailNotProvided},
		{tokenauth.ErrHeaderNoKey, 401, tokenauth.DetailNoKey},
		{tokenauth.ErrHeaderSpaces, 401, tokenauth.DetailSpaces},
		{tokenauth.ErrHeaderInvalidChars, 401, tokenauth.DetailInvalidChars},
		{tokenauth.ErrInvalidToken, 401, tokenauth.DetailInvalidToken},
		{tokenauth.ErrExpired, 401, tokenauth.DetailExpired},
		{tokenauth.ErrUserInactive, 401, tokenauth.DetailUserInactive},
		{&tokenauth.ScopeError{Required: []string{"x"}}, 403, tokenauth.DetailPermissionDenied},
		{tokenauth.ErrUnavailable, 503, tokenauth.DetailUnavailable},
		{errors.New("something unexpected"), 503, tokenauth.DetailUnavailable},
	}
	for _, tc := range cases {
		status, detail := tokenauth.Classify(tc.err)
		assert.Equal(t, tc.status, status, tc.err.Error())
		assert.Equal(t, tc.detail, detail, tc.err.Error())
	}
}

func TestParseAuthorization(t *testing.T) {
	kw := []string{"Token"}
	cases := []struct {
		in  string
		raw bool
		key string
		err error
	}{
		{"", false, "", tokenauth.ErrNoCredentials},
		{"   ", false, "", tokenauth.ErrNoCredentials},
		{"Token abc", false, "abc", nil},
		{"\x0b\x0cToken\r\n\tabc \t", false, "abc", nil},
		{"tOkEn abc", false, "abc", nil},
		{"Tokens abc", false, "", tokenauth.ErrNoCredentials},
		{"Token", false, "", tokenauth.ErrHeaderNoKey},
		{"Token a b", false, "", tokenauth.ErrHeaderSpaces},
		{"Token a\x00", false, "", tokenauth.ErrHeaderInvalidChars},
		{"Token a\x7f", false, "", tokenauth.ErrHeaderInvalidChars},
		{"Token \xc3\x28", false, "", tokenauth.ErrHeaderInvalidChars},
		{"Token é", false, "é", nil},
		{"abc", false, "", tokenauth.ErrNoCredentials},
		{"abc", true, "abc", nil},
		{"abc def", true, "", tokenauth.ErrHeaderSpaces},
	}
	for _, tc := range cases {
		key, err := tokenauth.ParseAuthorization(tc.in, kw, tc.raw)
		assert.Equal(t, tc.key, key, "%q", tc.in)
		assert.Equal(t, tc.err, err, "%q", tc.in)
	}
}
