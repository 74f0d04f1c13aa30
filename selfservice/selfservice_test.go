package selfservice_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/selfservice"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// byteOffset matches the offset in a JSON syntax error's detail.
var byteOffset = regexp.MustCompile(`at byte [0-9]+`)

type fixture struct {
	auth  *tokenauth.Authenticator
	store *tokenauthtest.FailingStore
	clock *tokenauthtest.Clock
	h     http.Handler
}

func newFixture(t *testing.T, opts selfservice.Options) *fixture {
	t.Helper()
	clock := tokenauthtest.NewClock()
	a, s := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now, Logger: quiet, TouchInterval: -1})
	opts.Now = clock.Now
	h, err := selfservice.New(a, opts)
	require.NoError(t, err)
	return &fixture{auth: a, store: s, clock: clock, h: http.StripPrefix("/api/tokens", h)}
}

func (fx *fixture) issue(t *testing.T, user string, o tokenauth.IssueOptions) (string, *tokenauth.Token) {
	t.Helper()
	key, tok, err := fx.auth.Issue(context.Background(), user, o)
	require.NoError(t, err)
	return key, tok
}

// do sends a request as the holder of key (none if empty), from
// 192.0.2.10, with a JSON body if body is not empty.
func (fx *fixture) do(method, path, key, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.RemoteAddr = "192.0.2.10:5555"
	r.Header.Set("User-Agent", "curl/8.5.0")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		r.Header.Set("Authorization", "Token "+key)
	}
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	return w
}

func (fx *fixture) ids(t *testing.T, user string) []string {
	t.Helper()
	tokens, err := fx.auth.List(context.Background(), user)
	require.NoError(t, err)
	ids := []string{}
	for _, tok := range tokens {
		ids = append(ids, tok.ID)
	}
	return ids
}

func TestList(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, cur := fx.issue(t, "1", tokenauth.IssueOptions{Name: "login", CreatedFrom: "192.0.2.10", UserAgent: "Firefox"})
	fx.clock.Advance(time.Minute)
	_, pat := fx.issue(t, "1", tokenauth.IssueOptions{
		Name: "ci", Personal: true, Scopes: []string{"read"}, TTL: time.Hour,
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, DeniedIPs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		RateLimit: 100, RateWindow: time.Minute, NotBefore: fx.clock.Now().Add(time.Minute)})
	fx.issue(t, "2", tokenauth.IssueOptions{Name: "someone else's"})
	fx.clock.Advance(time.Minute)

	w := fx.do(http.MethodGet, "/api/tokens/", key, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.JSONEq(t, `[
	  {"id":"`+cur.ID+`","name":"login","kind":"session","current":true,"scopes":[],
	   "created_at":"2026-01-02T03:04:05Z","created_from":"192.0.2.10","user_agent":"Firefox",
	   "last_used_at":"2026-01-02T03:06:05Z","expires_at":null,"not_before":null,
	   "allowed_ips":[],"denied_ips":[],"rate_limit":null},
	  {"id":"`+pat.ID+`","name":"ci","kind":"personal","current":false,"scopes":["read"],
	   "created_at":"2026-01-02T03:05:05Z","created_from":null,"user_agent":null,
	   "last_used_at":null,"expires_at":"2026-01-02T04:05:05Z","not_before":"2026-01-02T03:06:05Z",
	   "allowed_ips":["10.0.0.0/8"],"denied_ips":["10.1.0.0/16"],"rate_limit":{"limit":100,"window_seconds":60}}
	]`, w.Body.String())
	assert.NotContains(t, w.Body.String(), key)
	assert.NotContains(t, w.Body.String(), `"token"`)
}

func TestCreate(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, _ := fx.issue(t, "1", tokenauth.IssueOptions{Scopes: []string{"read", "write"}})
	w := fx.do(http.MethodPost, "/api/tokens/", key, `{"name":" deploy ","scopes":["read"],"ttl_seconds":86400,
		"allowed_ips":["192.0.2.0/24","2001:db8::1"],"denied_ips":["192.0.2.99"],"not_before":"2026-01-02T04:00:00+01:00",
		"rate_limit":{"limit":60,"window_seconds":60}}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	plaintext, _ := got["token"].(string)
	require.True(t, strings.HasPrefix(plaintext, "tka_"), "the plaintext, shown once")
	id := got["id"].(string)
	delete(got, "token")
	delete(got, "id")
	want := `{"name":"deploy","kind":"personal","current":false,"scopes":["read"],
	   "created_at":"2026-01-02T03:04:05Z","created_from":"192.0.2.10","user_agent":"curl/8.5.0",
	   "last_used_at":null,"expires_at":"2026-01-03T03:04:05Z","not_before":"2026-01-02T03:00:00Z",
	   "allowed_ips":["192.0.2.0/24","2001:db8::1/128"],"denied_ips":["192.0.2.99/32"],"rate_limit":{"limit":60,"window_seconds":60}}`
	b, _ := json.Marshal(got)
	assert.JSONEq(t, want, string(b))
	keys := strings.Split(w.Body.String(), ",")
	assert.True(t, strings.HasPrefix(keys[0], `{"id":`) && strings.HasPrefix(keys[1], `"token":`), "id, then token: %s", w.Body.String())

	tokens, err := fx.auth.List(context.Background(), "1")
	require.NoError(t, err)
	require.Len(t, tokens, 2)
	tok := tokens[0]
	if tok.ID != id {
		tok = tokens[1]
	}
	assert.Equal(t, id, tok.ID)
	assert.True(t, tok.Personal)
	assert.Equal(t, 60, tok.RateLimit)
	assert.Equal(t, time.Minute, tok.RateWindow)

	// It works, from where it is allowed.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.5:1"
	r.Header.Set("Authorization", "Token "+plaintext)
	_, err = fx.auth.Check(r, tokenauth.Policy{Scopes: []string{"read"}})
	require.NoError(t, err)
	r.RemoteAddr = "192.0.2.99:1"
	_, err = fx.auth.Check(r, tokenauth.Policy{})
	assert.ErrorIs(t, err, tokenauth.ErrAddressNotAllowed)

	// And is never shown again.
	list := fx.do(http.MethodGet, "/api/tokens/", key, "")
	assert.NotContains(t, list.Body.String(), plaintext)
}

// TestCreateBadInput: every refusal names its field, and stores nothing.
func TestCreateBadInput(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, _ := fx.issue(t, "1", tokenauth.IssueOptions{Scopes: []string{"read"}})
	for _, c := range []struct{ name, body, want string }{
		{"missing name", `{}`, `{"name":["This field is required."]}`},
		{"blank name", `{"name":"  "}`, `{"name":["This field may not be blank."]}`},
		{"null name", `{"name":null}`, `{"name":["This field may not be null."]}`},
		{"name not a string", `{"name":7}`, `{"name":["Not a valid string."]}`},
		{"long name", `{"name":"` + strings.Repeat("é", 201) + `"}`, `{"name":["Ensure this field has no more than 200 characters."]}`},
		{"control in name", `{"name":"a\u0000b"}`, `{"name":["Control characters are not allowed."]}`},
		{"unknown field", `{"name":"x","colour":"red"}`, `{"colour":["Unknown field."]}`},
		{"repeated field", `{"name":"x","name":"y"}`, `{"name":["This field was given more than once."]}`},
		{"malformed CIDR", `{"name":"x","allowed_ips":["10.0.0.0/8","10.0.0.0/33"]}`, `{"allowed_ips":["Item 1: Enter a valid CIDR range, such as 192.0.2.0/24 or 2001:db8::/32, or an address."]}`},
		{"CIDR not a string", `{"name":"x","denied_ips":[1]}`, `{"denied_ips":["Item 0: Not a valid string."]}`},
		{"ranges not a list", `{"name":"x","allowed_ips":"10.0.0.0/8"}`, `{"allowed_ips":["Expected a list of items."]}`},
		{"zoned address", `{"name":"x","allowed_ips":["fe80::1%eth0"]}`, `{"allowed_ips":["Item 0: Enter a valid CIDR range, such as 192.0.2.0/24 or 2001:db8::/32, or an address."]}`},
		{"zero limit", `{"name":"x","rate_limit":{"limit":0,"window_seconds":60}}`, `{"rate_limit":{"limit":["Ensure this value is greater than or equal to 1."]}}`},
		{"negative limit", `{"name":"x","rate_limit":{"limit":-5,"window_seconds":60}}`, `{"rate_limit":{"limit":["Ensure this value is greater than or equal to 1."]}}`},
		{"fractional limit", `{"name":"x","rate_limit":{"limit":1.5,"window_seconds":60}}`, `{"rate_limit":{"limit":["A valid integer is required."]}}`},
		{"limit without window", `{"name":"x","rate_limit":{"limit":5}}`, `{"rate_limit":{"window_seconds":["This field is required."]}}`},
		{"zero window", `{"name":"x","rate_limit":{"limit":5,"window_seconds":0}}`, `{"rate_limit":{"window_seconds":["Ensure this value is greater than or equal to 1."]}}`},
		{"unknown rate field", `{"name":"x","rate_limit":{"limit":5,"window_seconds":1,"burst":2}}`, `{"rate_limit":{"burst":["Unknown field."]}}`},
		{"rate not an object", `{"name":"x","rate_limit":5}`, `{"rate_limit":["Invalid data. Expected a dictionary."]}`},
		{"zero ttl", `{"name":"x","ttl_seconds":0}`, `{"ttl_seconds":["Ensure this value is greater than or equal to 1."]}`},
		{"ttl as a string", `{"name":"x","ttl_seconds":"60"}`, `{"ttl_seconds":["A valid integer is required."]}`},
		{"huge ttl", `{"name":"x","ttl_seconds":1e300}`, `{"ttl_seconds":["Ensure this value is less than or equal to 3153600000."]}`},
		{"bad not_before", `{"name":"x","not_before":"tomorrow"}`, `{"not_before":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm:ssZ."]}`},
		{"not_before past expiry", `{"name":"x","ttl_seconds":60,"not_before":"2026-01-02T04:00:00Z"}`, `{"not_before":["Ensure this is before the token expires."]}`},
		{"scope not held", `{"name":"x","scopes":["read","admin"]}`, `{"scopes":["You do not hold the scope \"admin\"."]}`},
		{"scope with a space", `{"name":"x","scopes":["a b"]}`, `{"scopes":["Item 0: A scope has no spaces or control characters."]}`},
		{"empty scope", `{"name":"x","scopes":[""]}`, `{"scopes":["Item 0: A scope has 1 to 100 bytes."]}`},
		{"several at once", `{"scopes":"read","colour":1}`, `{"name":["This field is required."],"scopes":["Expected a list of items."],"colour":["Unknown field."]}`},
		{"a list", `[{"name":"x"}]`, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		{"a string", `"x"`, `{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}`},
		{"not JSON", `{"name":`, `{"detail":"JSON parse error - unexpected end of the body"}`},
		{"trailing data", `{"name":"x"} {}`, `{"detail":"JSON parse error - extra data after the JSON value"}`},
		// The offset is encoding/json's: byte 8 on Go 1.25 and 1.26, 9 on 1.27.
		{"syntax", `{"name" "x"}`, `{"detail":"JSON parse error - invalid JSON at byte N"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := fx.ids(t, "1")
			w := fx.do(http.MethodPost, "/api/tokens/", key, c.body)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.JSONEq(t, c.want, byteOffset.ReplaceAllString(w.Body.String(), "at byte N"))
			assert.Equal(t, before, fx.ids(t, "1"), "nothing stored")
		})
	}
}

func TestCreateRefusals(t *testing.T) {
	fx := newFixture(t, selfservice.Options{MaxPersonal: 2, MaxBodyBytes: 64})
	key, _ := fx.issue(t, "1", tokenauth.IssueOptions{})
	r := httptest.NewRequest(http.MethodPost, "/api/tokens/", strings.NewReader(`name=x`))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Token "+key)
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusUnsupportedMediaType, w.Code)
	assert.JSONEq(t, `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}`, w.Body.String())

	w = fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"`+strings.Repeat("x", 100)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)

	for range 2 {
		require.Equal(t, http.StatusCreated, fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"ci"}`).Code)
	}
	before := fx.ids(t, "1")
	w = fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"ci"}`)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.JSONEq(t, `{"detail":"Maximum amount of tokens allowed per user exceeded."}`, w.Body.String())
	assert.Equal(t, before, fx.ids(t, "1"))

	// A personal access token cannot make more.
	patKey, _ := fx.issue(t, "2", tokenauth.IssueOptions{Personal: true})
	w = fx.do(http.MethodPost, "/api/tokens/", patKey, `{"name":"offspring"}`)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.JSONEq(t, `{"detail":"Personal access tokens cannot create tokens."}`, w.Body.String())
	assert.Len(t, fx.ids(t, "2"), 1)

	// MaxTTL bounds a lifetime, and is the default.
	fx2 := newFixture(t, selfservice.Options{MaxTTL: time.Hour})
	key2, _ := fx2.issue(t, "1", tokenauth.IssueOptions{})
	w = fx2.do(http.MethodPost, "/api/tokens/", key2, `{"name":"x"}`)
	require.Equal(t, http.StatusCreated, w.Code)
	assert.Contains(t, w.Body.String(), `"expires_at":"2026-01-02T04:04:05Z"`)
	w = fx2.do(http.MethodPost, "/api/tokens/", key2, `{"name":"x","ttl_seconds":3601}`)
	assert.JSONEq(t, `{"ttl_seconds":["Ensure this value is less than or equal to 3600."]}`, w.Body.String())
	assert.Equal(t, http.StatusCreated, fx2.do(http.MethodPost, "/api/tokens/", key2, `{"name":"x","ttl_seconds":3600}`).Code)
}

// TestCreateWithinCaller: a new token is no broader than the caller's:
// its scopes, its allowed addresses and its denied ones.
func TestCreateWithinCaller(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, _ := fx.issue(t, "1", tokenauth.IssueOptions{Scopes: []string{"*"},
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, DeniedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.66/32")}})
	w := fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"x","allowed_ips":["192.0.2.0/25","10.0.0.0/8"]}`)
	assert.JSONEq(t, `{"allowed_ips":["Item 1: outside the ranges your token is allowed from."]}`, w.Body.String())
	w = fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"x","allowed_ips":["192.0.0.0/16"]}`)
	assert.JSONEq(t, `{"allowed_ips":["Item 0: outside the ranges your token is allowed from."]}`, w.Body.String())

	w = fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"x","scopes":["anything"]}`)
	require.Equal(t, http.StatusCreated, w.Code, "the scope * holds every scope")
	var got struct {
		AllowedIPs []string `json:"allowed_ips"`
		DeniedIPs  []string `json:"denied_ips"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, []string{"192.0.2.0/24"}, got.AllowedIPs, "the caller's, by default")
	assert.Equal(t, []string{"192.0.2.66/32"}, got.DeniedIPs)

	w = fx.do(http.MethodPost, "/api/tokens/", key, `{"name":"x","allowed_ips":["::ffff:192.0.2.128/121"],"denied_ips":["192.0.2.200"]}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, []string{"192.0.2.128/25"}, got.AllowedIPs)
	assert.Equal(t, []string{"192.0.2.200/32", "192.0.2.66/32"}, got.DeniedIPs)
}

// TestOtherUsersTokens: one user can neither see nor revoke another's.
func TestOtherUsersTokens(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	mallory, _ := fx.issue(t, "mallory", tokenauth.IssueOptions{})
	_, victim := fx.issue(t, "alice", tokenauth.IssueOptions{Name: "alice's laptop"})
	_, victimPAT := fx.issue(t, "alice", tokenauth.IssueOptions{Name: "alice's ci", Personal: true})

	w := fx.do(http.MethodGet, "/api/tokens/", mallory, "")
	assert.NotContains(t, w.Body.String(), victim.ID)
	assert.NotContains(t, w.Body.String(), "alice")
	for _, path := range []string{"/api/tokens/" + victim.ID + "/", "/api/tokens/" + victimPAT.ID, "/api/tokens/made-up/"} {
		w = fx.do(http.MethodDelete, path, mallory, "")
		assert.Equal(t, http.StatusNotFound, w.Code, path)
		assert.JSONEq(t, `{"detail":"Not found."}`, w.Body.String(), "the same answer as for an unknown ID")
	}
	w = fx.do(http.MethodPost, "/api/tokens/revoke-others/", mallory, "")
	assert.JSONEq(t, `{"revoked":0}`, w.Body.String())
	assert.ElementsMatch(t, []string{victim.ID, victimPAT.ID}, fx.ids(t, "alice"), "untouched")
}

func TestRevoke(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, cur := fx.issue(t, "1", tokenauth.IssueOptions{})
	_, laptop := fx.issue(t, "1", tokenauth.IssueOptions{})
	_, pat := fx.issue(t, "1", tokenauth.IssueOptions{Personal: true})

	w := fx.do(http.MethodDelete, "/api/tokens/"+laptop.ID+"/", key, "")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Empty(t, w.Body.String())
	assert.ElementsMatch(t, []string{cur.ID, pat.ID}, fx.ids(t, "1"))
	w = fx.do(http.MethodDelete, "/api/tokens/"+laptop.ID+"/", key, "")
	assert.Equal(t, http.StatusNotFound, w.Code, "already gone")
	w = fx.do(http.MethodDelete, "/api/tokens/"+pat.ID, key, "")
	assert.Equal(t, http.StatusNoContent, w.Code, "without the trailing slash")
	w = fx.do(http.MethodDelete, "/api/tokens/"+cur.ID+"/", key, "")
	assert.Equal(t, http.StatusNoContent, w.Code, "revoking the current token logs out")
	assert.Empty(t, fx.ids(t, "1"))
	assert.Equal(t, http.StatusUnauthorized, fx.do(http.MethodGet, "/api/tokens/", key, "").Code)
}

func TestRevokeOthers(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, cur := fx.issue(t, "1", tokenauth.IssueOptions{})
	fx.issue(t, "1", tokenauth.IssueOptions{})
	fx.issue(t, "1", tokenauth.IssueOptions{Personal: true})
	_, other := fx.issue(t, "2", tokenauth.IssueOptions{})
	w := fx.do(http.MethodPost, "/api/tokens/revoke-others/", key, "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"revoked":2}`, w.Body.String())
	assert.Equal(t, []string{cur.ID}, fx.ids(t, "1"))
	assert.Equal(t, []string{other.ID}, fx.ids(t, "2"))
}

func TestRoutes(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, tok := fx.issue(t, "1", tokenauth.IssueOptions{})
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodPut, "/api/tokens/", 405, "GET, POST, OPTIONS"},
		{http.MethodOptions, "/api/tokens/", 204, "GET, POST, OPTIONS"},
		{http.MethodGet, "/api/tokens/revoke-others/", 405, "POST, OPTIONS"},
		{http.MethodGet, "/api/tokens/" + tok.ID + "/", 405, "DELETE, OPTIONS"},
		{http.MethodDelete, "/api/tokens/a/b/", 404, ""},
		{http.MethodDelete, "/api/tokens/" + strings.Repeat("x", 65) + "/", 404, ""},
	} {
		w := fx.do(c.method, c.path, key, "")
		assert.Equal(t, c.status, w.Code, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, w.Header().Get("Allow"), "%s %s", c.method, c.path)
	}
	// Credentials first: 401 before any 404 or 405.
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/tokens/"}, {http.MethodPost, "/api/tokens/"}, {http.MethodPut, "/api/tokens/"},
		{http.MethodDelete, "/api/tokens/" + tok.ID + "/"}, {http.MethodPost, "/api/tokens/revoke-others/"}, {http.MethodGet, "/api/tokens/x/y"},
	} {
		w := fx.do(c.method, c.path, "", "")
		assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s", c.method, c.path)
		assert.JSONEq(t, `{"detail":"Authentication credentials were not provided."}`, w.Body.String())
	}
	assert.Equal(t, []string{tok.ID}, fx.ids(t, "1"))
}

func TestOutage(t *testing.T) {
	fx := newFixture(t, selfservice.Options{})
	key, tok := fx.issue(t, "1", tokenauth.IssueOptions{})
	// Authenticate through the store, then fail the calls the handler
	// makes: each is a 503, never a wrong answer.
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/tokens/", ""},
		{http.MethodPost, "/api/tokens/", `{"name":"x"}`},
		{http.MethodDelete, "/api/tokens/" + tok.ID + "/", ""},
		{http.MethodPost, "/api/tokens/revoke-others/", ""},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Token "+key)
		ctx, err := fx.auth.Check(r, tokenauth.Policy{})
		require.NoError(t, err)
		fx.store.SetErr(errors.New("connection refused"))
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r.WithContext(ctx))
		fx.store.SetErr(nil)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "%s %s", c.method, c.path)
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
		assert.NotContains(t, w.Body.String(), "refused")
	}
	assert.Equal(t, []string{tok.ID}, fx.ids(t, "1"))
}

func TestNew(t *testing.T) {
	_, err := selfservice.New(nil, selfservice.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	_, err = selfservice.New(a, selfservice.Options{MaxTTL: -1})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}
