package login_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/stretchr/testify/assert"
)

// TestLoginRecordsOrigin: a login's token records the client's address,
// by the Authenticator's TrustedProxies rule unless ClientAddr is set, and
// its User-Agent, cut to 256 bytes: what a user is shown in a list of
// their sessions.
func TestLoginRecordsOrigin(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		name       string
		opts       tokenauth.Options
		lopts      login.Options
		remoteAddr string
		xff        string
		userAgent  string
		wantFrom   string
		wantAgent  string
	}{
		{"peer", tokenauth.Options{}, login.Options{}, "192.0.2.1:4242", "198.51.100.1", "curl/8.5.0", "192.0.2.1", "curl/8.5.0"},
		{"trusted proxy", tokenauth.Options{TrustedProxies: proxies}, login.Options{}, "10.0.0.1:1", "1.1.1.1, 198.51.100.1", "", "198.51.100.1", ""},
		{"ForwardedFor", tokenauth.Options{}, login.Options{ClientAddr: login.ForwardedFor(proxies...)}, "10.0.0.1:1", "198.51.100.2", "x", "198.51.100.2", "x"},
		{"long user agent", tokenauth.Options{}, login.Options{}, "[2001:db8::1]:1", "", strings.Repeat("Mozilla ", 100), "2001:db8::1", strings.Repeat("Mozilla ", 32)},
		{"not an IP", tokenauth.Options{}, login.Options{}, "@", "", "agent\x01", "@", "agent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c.opts, c.lopts)
			ct, body := encodeJSON(t, credentials("john", password))
			r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			r.RemoteAddr = c.remoteAddr
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			r.Header.Set("User-Agent", c.userAgent)
			w := httptest.NewRecorder()
			fx.h.ServeHTTP(w, r)
			tok := mustVerify(t, fx.auth, tokenOf(t, w))
			assert.Equal(t, c.wantFrom, tok.CreatedFrom)
			assert.Equal(t, c.wantAgent, tok.UserAgent)
			assert.LessOrEqual(t, len(tok.UserAgent), 256)
			assert.False(t, tok.Personal, "a login's token is a session")
		})
	}
}
