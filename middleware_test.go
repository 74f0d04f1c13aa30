package tokenauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
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
			rec := serve(a.Require()(whoami), r)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, tc.wwwAuthn, rec.Header().Get("WWW-Authenticate"))
		})
	}
}

func TestCookieAndQuerySources(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Cookie: "auth", QueryParam: "token"})
	key := tokenauthtest.Issue(t, a, "1")
	other := tokenauthtest.Issue(t, a, "2")
	h := a.Require()(whoami)

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
	rec := serve(b.Require()(whoami), r)
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"detail":"Authentication credentials were not provided."}`, rec.Body.String())
}

func TestDuplicateAuthorizationHeaders(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	key := tokenauthtest.Issue(t, a, "1")
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Token "+key)
	r.Header.Add("Authorization", "Token "+key)
	rec := serve(a.Require()(whoami), r)
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"detail":"Invalid token header. Token string should not contain spaces."}`, rec.Body.String())

	// Another scheme beside ours is ambiguous too.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Basic eDp5")
	r.Header.Add("Authorization", "Token "+key)
	assert.Equal(t, 401, serve(a.Require()(whoami), r).Code)
}

func TestRequireScopes(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	reader := tokenauthtest.Issue(t, a, "1", "read")
	admin := tokenauthtest.Issue(t, a, "2", "*")
	standalone := a.Require("read")(whoami)
	chained := a.Require()(a.Require("read", "write")(whoami))

	assert.Equal(t, "1", serve(standalone, keyRequest(reader)).Body.String())
	assert.Equal(t, 401, serve(standalone, keyRequest("")).Code)
	rec := serve(chained, keyRequest(reader))
	assert.Equal(t, 403, rec.Code)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"detail":"You do not have permission to perform this action."}`, rec.Body.String())
	assert.Equal(t, "2", serve(chained, keyRequest(admin)).Body.String(), `"*" grants every scope`)
}

// Require("a", "b") lets through only tokens that carry both.
func TestRequireAllScopes(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	h := a.Require("a", "b")(whoami)
	cases := []struct {
		scopes []string
		status int
	}{
		{nil, 403},
		{[]string{"a"}, 403},
		{[]string{"b"}, 403},
		{[]string{"a", "c"}, 403},
		{[]string{"b", "a"}, 200},
		{[]string{"a", "b", "c"}, 200},
		{[]string{"*"}, 200},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.scopes, ","), func(t *testing.T) {
			key := tokenauthtest.Issue(t, a, "1", tc.scopes...)
			assert.Equal(t, tc.status, serve(h, keyRequest(key)).Code)
		})
	}

	// The scopes are copied: changing the caller's slice later changes
	// nothing.
	scopes := []string{"a"}
	h = a.Require(scopes...)(whoami)
	scopes[0] = "z"
	assert.Equal(t, 200, serve(h, keyRequest(tokenauthtest.Issue(t, a, "1", "a"))).Code)
}

// findCounter counts Find calls on top of a store.
type findCounter struct {
	tokenauth.Store
	finds atomic.Int64
}

func (s *findCounter) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	s.finds.Add(1)
	return s.Store.Find(ctx, digest)
}

// Nested middleware reuses the outer one's Principal: scope checks are
// added, lookups are not.
func TestNestedRequireLooksUpOnce(t *testing.T) {
	store := &findCounter{Store: memstore.New()}
	a, err := tokenauth.New(store, tokenauth.Options{})
	require.NoError(t, err)
	admin := tokenauthtest.Issue(t, a, "1", "admin")
	user := tokenauthtest.Issue(t, a, "2")

	for name, h := range map[string]http.Handler{
		"Require in Require":  a.Require()(a.Require("admin")(whoami)),
		"three deep":          a.Require()(a.Require("admin")(a.Require("admin")(whoami))),
		"Require in Optional": a.Optional()(a.Require("admin")(whoami)),
	} {
		t.Run(name, func(t *testing.T) {
			before := store.finds.Load()
			rec := serve(h, keyRequest(admin))
			assert.Equal(t, 200, rec.Code)
			assert.Equal(t, "1", rec.Body.String())
			assert.EqualValues(t, 1, store.finds.Load()-before, "one store lookup per request")

			before = store.finds.Load()
			assert.Equal(t, 403, serve(h, keyRequest(user)).Code)
			assert.EqualValues(t, 1, store.finds.Load()-before)
		})
	}
}

func TestOptional(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	key := tokenauthtest.Issue(t, a, "1")
	h := a.Optional()(whoami)

	assert.Equal(t, "1", serve(h, keyRequest(key)).Body.String())
	before := s.Calls()
	assert.Equal(t, "anonymous", serve(h, keyRequest("")).Body.String())
	assert.Equal(t, before, s.Calls(), "an anonymous request needs no store")
	r := keyRequest("")
	r.Header.Set("Authorization", "Basic eDp5")
	assert.Equal(t, "anonymous", serve(h, r).Body.String(), "another scheme is no credentials")

	// Bad credentials still fail, as in DRF.
	rec := serve(h, keyRequest(unknownKey(t)))
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"detail":"Invalid token."}`, rec.Body.String())

	s.SetErr(errors.New("down"))
	assert.Equal(t, 503, serve(h, keyRequest(key)).Code, "an outage is not anonymity")
	assert.Equal(t, "anonymous", serve(h, keyRequest("")).Body.String())
}

// keyRequest is a GET carrying key in the Authorization header, or no
// header for an empty key.
func keyRequest(key string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if key != "" {
		r.Header.Set("Authorization", "Token "+key)
	}
	return r
}
