package tokenauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// fromAddr is keyRequest from remoteAddr, with X-Forwarded-For xff if
// not empty.
func fromAddr(key, remoteAddr, xff string) *http.Request {
	r := keyRequest(key)
	r.RemoteAddr = remoteAddr
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	return r
}

// TestCheckConstraints checks each constraint a record carries on Check,
// over memstore and over a cache in front of it: a cached record is
// checked as a stored one, with no extra store call.
func TestCheckConstraints(t *testing.T) {
	clock := tokenauthtest.NewClock()
	later := clock.Now().Add(time.Hour)
	cases := []struct {
		name   string
		issue  tokenauth.IssueOptions
		opts   tokenauth.Options
		req    func(key string) *http.Request
		want   error
		reason string
	}{
		{"no constraints", tokenauth.IssueOptions{}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "192.0.2.1:1", "") }, nil, ""},
		{"not yet valid", tokenauth.IssueOptions{NotBefore: later}, tokenauth.Options{}, keyRequest, tokenauth.ErrInvalidToken, "not_yet_valid"},
		{"valid from now", tokenauth.IssueOptions{NotBefore: clock.Now()}, tokenauth.Options{}, keyRequest, nil, ""},
		{"allowed IPv4", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "192.0.2.7:1", "") }, nil, ""},
		{"not in allowed IPv4", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "198.51.100.7:1", "") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"IPv4-mapped client", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "[::ffff:192.0.2.7]:1", "") }, nil, ""},
		{"IPv4-mapped range", tokenauth.IssueOptions{AllowedIPs: prefixes("::ffff:192.0.2.0/120")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "192.0.2.7:1", "") }, nil, ""},
		{"allowed IPv6", tokenauth.IssueOptions{AllowedIPs: prefixes("2001:db8::/32")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "[2001:db8::5]:1", "") }, nil, ""},
		{"IPv6 not in IPv4 list", tokenauth.IssueOptions{AllowedIPs: prefixes("0.0.0.0/0")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "[2001:db8::5]:1", "") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"denied", tokenauth.IssueOptions{DeniedIPs: prefixes("203.0.113.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "203.0.113.9:1", "") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"not denied", tokenauth.IssueOptions{DeniedIPs: prefixes("203.0.113.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "203.0.114.9:1", "") }, nil, ""},
		{"denial beats allowance", tokenauth.IssueOptions{AllowedIPs: prefixes("10.0.0.0/8"), DeniedIPs: prefixes("10.1.0.0/16")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "10.1.2.3:1", "") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"no address", tokenauth.IssueOptions{DeniedIPs: prefixes("203.0.113.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "@", "") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"forwarded, untrusted peer", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{}, func(k string) *http.Request { return fromAddr(k, "10.0.0.1:1", "192.0.2.7") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"forwarded by a trusted proxy", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{TrustedProxies: prefixes("10.0.0.0/8")}, func(k string) *http.Request { return fromAddr(k, "10.0.0.1:1", "192.0.2.7") }, nil, ""},
		{"leftmost entry is the client's own", tokenauth.IssueOptions{AllowedIPs: prefixes("192.0.2.0/24")}, tokenauth.Options{TrustedProxies: prefixes("10.0.0.0/8")}, func(k string) *http.Request { return fromAddr(k, "10.0.0.1:1", "192.0.2.7, 198.51.100.1") }, tokenauth.ErrAddressNotAllowed, "address_not_allowed"},
		{"rate limit not reached", tokenauth.IssueOptions{RateLimit: 2, RateWindow: time.Minute}, tokenauth.Options{}, keyRequest, nil, ""},
	}
	for _, cached := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			if cached {
				name = "cached/" + name
			}
			t.Run(name, func(t *testing.T) {
				var store tokenauth.Store = memstore.New()
				failing := tokenauthtest.NewFailingStore(store)
				store = failing
				if cached {
					cs, err := cachestore.New(store, cachestore.Options{AllowStaleRevocations: true, Now: clock.Now})
					require.NoError(t, err)
					t.Cleanup(func() { cs.Close() })
					store = cs
				}
				var reasons []string
				opts := c.opts
				opts.Now, opts.Logger, opts.TouchInterval = clock.Now, quiet, -1
				opts.OnCheck = func(_ context.Context, reason string, _ time.Duration) { reasons = append(reasons, reason) }
				a, err := tokenauth.New(store, opts)
				require.NoError(t, err)
				key, _, err := a.Issue(context.Background(), "1", c.issue)
				require.NoError(t, err)
				if cached { // fill the cache, then count store calls
					_, err := a.Verify(context.Background(), key)
					if c.issue.AllowedIPs == nil && c.issue.DeniedIPs == nil && c.issue.NotBefore.IsZero() {
						require.NoError(t, err)
					}
					reasons = nil
				}
				before := failing.Calls()
				ctx, err := a.Check(c.req(key), tokenauth.Policy{})
				if c.want == nil {
					require.NoError(t, err)
					tok, ok := tokenauth.FromContext(ctx)
					require.True(t, ok)
					assert.Equal(t, "1", tok.UserID)
				} else {
					assert.ErrorIs(t, err, c.want)
					assert.Nil(t, ctx)
				}
				assert.Equal(t, []string{c.reason}, reasons)
				if cached {
					assert.Equal(t, before, failing.Calls(), "answered from the cache")
				}
			})
		}
	}
}

// TestRateLimit: N uses pass in a window, the next gets 429 with
// Retry-After and DRF's throttled body, and a new window starts over.
func TestRateLimit(t *testing.T) {
	clock := tokenauthtest.NewClock()
	var reasons []string
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now, Logger: quiet,
		OnCheck: func(_ context.Context, reason string, _ time.Duration) { reasons = append(reasons, reason) }})
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{RateLimit: 3, RateWindow: time.Minute})
	require.NoError(t, err)
	other, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{RateLimit: 3, RateWindow: time.Minute})
	require.NoError(t, err)
	h := a.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	serveKey := func(key string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, keyRequest(key))
		return w
	}
	for range 3 {
		require.Equal(t, 204, serveKey(key).Code)
	}
	clock.Advance(20 * time.Second)
	w := serveKey(key)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "40", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"detail":"Request was throttled. Expected available in 40 seconds."}`, w.Body.String())
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, 204, serveKey(other).Code, "each token has its own count")

	clock.Advance(39*time.Second + 500*time.Millisecond)
	w = serveKey(key)
	assert.Equal(t, "1", w.Header().Get("Retry-After"), "rounded up")
	assert.JSONEq(t, `{"detail":"Request was throttled. Expected available in 1 second."}`, w.Body.String())
	clock.Advance(time.Second)
	assert.Equal(t, 204, serveKey(key).Code, "a new window")
	assert.Equal(t, []string{"", "", "", "rate_limited", "", "rate_limited", ""}, reasons)

	// Verify counts too.
	_, err = a.Verify(context.Background(), key)
	require.NoError(t, err)
	_, err = a.Verify(context.Background(), key)
	require.NoError(t, err)
	_, err = a.Verify(context.Background(), key)
	assert.ErrorIs(t, err, tokenauth.ErrRateLimited)
}

// TestRateLimitConcurrent: 100 clients at once, through the middleware,
// get at most N passes in each window of the in-process counter (and, as
// they are many, exactly N).
func TestRateLimitConcurrent(t *testing.T) {
	const limit, clients, perClient = 25, 100, 5
	clock := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now, Logger: quiet, TouchInterval: -1})
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{RateLimit: limit, RateWindow: time.Second})
	require.NoError(t, err)
	var passed atomic.Int64
	h := a.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed.Add(1) }))
	for window := range 4 {
		passed.Store(0)
		var wg sync.WaitGroup
		var throttled atomic.Int64
		for range clients {
			wg.Go(func() {
				for range perClient {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, keyRequest(key))
					if w.Code == http.StatusTooManyRequests {
						throttled.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, limit, passed.Load(), "window %d", window)
		assert.EqualValues(t, clients*perClient-limit, throttled.Load(), "window %d", window)
		clock.Advance(time.Second)
	}
}

// TestRateCounter: a shared counter is asked with the token's ID, limit
// and window under StoreTimeout; its failure is an outage, never a pass.
func TestRateCounter(t *testing.T) {
	type call struct {
		key    string
		limit  int
		window time.Duration
	}
	var (
		calls []call
		fail  error
		ok    = true
	)
	counter := func(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, bool, error) {
		_, hasDeadline := ctx.Deadline()
		assert.True(t, hasDeadline, "bounded by StoreTimeout")
		calls = append(calls, call{key, limit, window})
		return 7 * time.Second, ok, fail
	}
	var reasons []string
	a, _ := tokenauthtest.New(t, tokenauth.Options{RateCounter: counter, Logger: quiet,
		OnCheck: func(_ context.Context, reason string, _ time.Duration) { reasons = append(reasons, reason) }})
	key, tok, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{RateLimit: 10, RateWindow: time.Hour})
	require.NoError(t, err)
	plain := tokenauthtest.Issue(t, a, "1")

	_, err = a.Check(keyRequest(plain), tokenauth.Policy{})
	require.NoError(t, err)
	assert.Empty(t, calls, "a token without a limit is not counted")
	_, err = a.Check(keyRequest(key), tokenauth.Policy{})
	require.NoError(t, err)
	assert.Equal(t, []call{{tok.ID, 10, time.Hour}}, calls)

	ok = false
	_, err = a.Check(keyRequest(key), tokenauth.Policy{})
	assert.ErrorIs(t, err, tokenauth.ErrRateLimited)
	w := httptest.NewRecorder()
	a.Error(w, keyRequest(key), err)
	assert.Equal(t, "7", w.Header().Get("Retry-After"))

	fail = errors.New("redis: connection refused")
	_, err = a.Check(keyRequest(key), tokenauth.Policy{})
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	w = httptest.NewRecorder()
	a.Error(w, keyRequest(key), err)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), "redis")
	assert.Equal(t, []string{"", "", "rate_limited", "store_failure"}, reasons)
}

// TestRateLimitAfterAddress: a use from a refused address is not counted,
// so that a stolen token used elsewhere cannot spend its owner's limit.
func TestRateLimitAfterAddress(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{
		AllowedIPs: prefixes("192.0.2.0/24"), RateLimit: 2, RateWindow: time.Hour})
	require.NoError(t, err)
	for range 5 {
		_, err := a.Check(fromAddr(key, "198.51.100.1:1", ""), tokenauth.Policy{})
		assert.ErrorIs(t, err, tokenauth.ErrAddressNotAllowed)
	}
	for range 2 {
		_, err := a.Check(fromAddr(key, "192.0.2.1:1", ""), tokenauth.Policy{})
		assert.NoError(t, err)
	}
	_, err = a.Check(fromAddr(key, "192.0.2.1:1", ""), tokenauth.Policy{})
	assert.ErrorIs(t, err, tokenauth.ErrRateLimited)
}

func TestVerifyAddressLists(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	for _, o := range []tokenauth.IssueOptions{{AllowedIPs: prefixes("0.0.0.0/0", "::/0")}, {DeniedIPs: prefixes("192.0.2.0/24")}} {
		key, _, err := a.Issue(context.Background(), "1", o)
		require.NoError(t, err)
		_, err = a.Verify(context.Background(), key)
		assert.ErrorIs(t, err, tokenauth.ErrAddressNotAllowed, "no address to check")
	}
}

func TestConstraintAnswers(t *testing.T) {
	for _, c := range []struct {
		err          error
		status       int
		body, bearer string
		bearerWWW    bool
	}{
		{tokenauth.ErrAddressNotAllowed, 403, `{"detail":"This token may not be used from this address."}`, `{"detail":"This token may not be used from this address."}`, true},
	} {
		status, detail := tokenauth.Classify(c.err)
		assert.Equal(t, c.status, status)
		assert.JSONEq(t, c.body, `{"detail":"`+detail+`"}`)
	}
	clock := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now, Keywords: []string{"Bearer"}, ErrorHandler: tokenauth.BearerErrorHandler("api")})
	key, _, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{NotBefore: clock.Now().Add(time.Minute), RateLimit: 1, RateWindow: time.Minute})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	h := a.Require()(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, 401, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token", error_description="Token is not valid yet."`)

	clock.Advance(time.Minute)
	h.ServeHTTP(httptest.NewRecorder(), r)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	assert.Empty(t, w.Header().Get("WWW-Authenticate"), "no challenge: the credentials are good")
	assert.JSONEq(t, `{"detail":"Request was throttled. Expected available in 60 seconds."}`, w.Body.String())
}

// TestIssueConstraints: Issue keeps the constraints in the form every
// store keeps, refuses invalid ones storing nothing, and keeps what a user
// is shown short and printable.
func TestIssueConstraints(t *testing.T) {
	clock := tokenauthtest.NewClock()
	a, s := tokenauthtest.New(t, tokenauth.Options{Now: clock.Now})
	nb := clock.Now().Add(90 * time.Minute).In(time.FixedZone("x", 3600)).Add(123 * time.Nanosecond)
	_, tok, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{
		Personal: true, NotBefore: nb, TTL: 2 * time.Hour,
		AllowedIPs: prefixes("192.0.2.77/24", "::ffff:198.51.100.0/120", "2001:db8::1/32"),
		DeniedIPs:  prefixes("192.0.2.5/32"),
		RateLimit:  5, RateWindow: time.Minute,
		CreatedFrom: "192.0.2.9", UserAgent: "curl/8.5.0",
	})
	require.NoError(t, err)
	assert.True(t, tok.Personal)
	assert.Equal(t, nb.UTC().Truncate(time.Microsecond), tok.NotBefore)
	assert.Equal(t, time.UTC, tok.NotBefore.Location())
	assert.Equal(t, prefixes("192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"), tok.AllowedIPs)
	assert.Equal(t, prefixes("192.0.2.5/32"), tok.DeniedIPs)
	assert.Equal(t, 5, tok.RateLimit)
	assert.Equal(t, time.Minute, tok.RateWindow)
	assert.Equal(t, "192.0.2.9", tok.CreatedFrom)
	assert.Equal(t, "curl/8.5.0", tok.UserAgent)
	stored, err := a.List(context.Background(), "1")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.Equal(t, tok, stored[0])

	for name, o := range map[string]tokenauth.IssueOptions{
		"negative limit":        {RateLimit: -1, RateWindow: time.Minute},
		"limit without window":  {RateLimit: 1},
		"window without limit":  {RateWindow: time.Minute},
		"negative window":       {RateLimit: 1, RateWindow: -time.Minute},
		"invalid prefix":        {AllowedIPs: []netip.Prefix{{}}},
		"not before the expiry": {TTL: time.Hour, NotBefore: clock.Now().Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			before := s.Calls()
			_, _, err := a.Issue(context.Background(), "2", o)
			assert.Error(t, err)
			assert.NotErrorIs(t, err, tokenauth.ErrUnavailable)
			assert.Equal(t, before, s.Calls(), "nothing stored")
		})
	}

	for name, c := range map[string]struct{ in, want string }{
		"long":         {strings.Repeat("a", 300), strings.Repeat("a", 256)},
		"cut on runes": {strings.Repeat("a", 255) + "é", strings.Repeat("a", 255)},
		"invalid":      {"Mozilla\xff/5.0", "Mozilla\uFFFD/5.0"},
		"controls":     {"a\x00b\r\nc\x7f", "abc"},
	} {
		t.Run("user agent/"+name, func(t *testing.T) {
			_, tok, err := a.Issue(context.Background(), "3", tokenauth.IssueOptions{UserAgent: c.in, CreatedFrom: c.in})
			require.NoError(t, err)
			assert.Equal(t, c.want, tok.UserAgent)
			assert.LessOrEqual(t, len(tok.CreatedFrom), 64)
		})
	}
}

// TestRevokeSessions: a password change revokes the user's sessions,
// keeping their personal tokens and the session given; RevokeAll still
// takes everything.
func TestRevokeSessions(t *testing.T) {
	ctx := context.Background()
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	issue := func(user string, personal bool) *tokenauth.Token {
		_, tok, err := a.Issue(ctx, user, tokenauth.IssueOptions{Personal: personal})
		require.NoError(t, err)
		return tok
	}
	current, other, pat, otherUser := issue("1", false), issue("1", false), issue("1", true), issue("2", false)
	_ = other
	n, err := a.RevokeSessions(ctx, "1", current)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	ids := func(user string) []string {
		tokens, err := a.List(ctx, user)
		require.NoError(t, err)
		var out []string
		for _, t := range tokens {
			out = append(out, t.ID)
		}
		return out
	}
	assert.ElementsMatch(t, []string{current.ID, pat.ID}, ids("1"))
	assert.Equal(t, []string{otherUser.ID}, ids("2"))

	n, err = a.RevokeSessions(ctx, "1", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "without keep, the current session goes too")
	assert.Equal(t, []string{pat.ID}, ids("1"))

	_, err = a.RevokeSessions(ctx, "1", otherUser)
	assert.Error(t, err, "keep must be the user's")
	assert.Equal(t, []string{pat.ID}, ids("1"))

	// Final: a session authorised before it cannot be stored after it.
	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{CreatedAt: time.Now().Add(-time.Minute)})
	assert.ErrorIs(t, err, tokenauth.ErrRevoked)

	n, err = a.RevokeAll(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Empty(t, ids("1"))
}

func TestRotateKeepsConstraints(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	_, old, err := a.Issue(context.Background(), "1", tokenauth.IssueOptions{
		Name: "ci", Personal: true, AllowedIPs: prefixes("192.0.2.0/24"), DeniedIPs: prefixes("192.0.2.1/32"),
		RateLimit: 3, RateWindow: time.Minute, CreatedFrom: "192.0.2.9", UserAgent: "curl"})
	require.NoError(t, err)
	_, tok, err := a.Rotate(context.Background(), old, 0)
	require.NoError(t, err)
	assert.True(t, tok.Personal)
	assert.Equal(t, old.AllowedIPs, tok.AllowedIPs)
	assert.Equal(t, old.DeniedIPs, tok.DeniedIPs)
	assert.Equal(t, 3, tok.RateLimit)
	assert.Equal(t, time.Minute, tok.RateWindow)
	assert.Equal(t, "192.0.2.9", tok.CreatedFrom)
	assert.Equal(t, "curl", tok.UserAgent)
}

func TestTrustedProxiesOption(t *testing.T) {
	_, err := tokenauth.New(memstore.New(), tokenauth.Options{TrustedProxies: []netip.Prefix{{}}})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	a, err := tokenauth.New(memstore.New(), tokenauth.Options{TrustedProxies: prefixes("10.0.0.0/8")})
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddr("192.0.2.7"), a.ClientAddr(fromAddr("", "10.0.0.1:1", "1.1.1.1, 192.0.2.7")))
	assert.Equal(t, netip.MustParseAddr("192.0.2.8"), a.ClientAddr(fromAddr("", "192.0.2.8:1", "1.1.1.1")))
	assert.False(t, a.ClientAddr(fromAddr("", "@", "")).IsValid())
}
