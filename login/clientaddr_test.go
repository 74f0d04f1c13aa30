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

func TestClientAddr(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	cases := []struct {
		name       string
		clientAddr func(*http.Request) string
		remoteAddr string
		xff        []string
		want       string
	}{
		{"default: remote address", nil, "192.0.2.1:4242", []string{"198.51.100.1"}, "192.0.2.1"},
		{"default: IPv6", nil, "[2001:db8::1]:4242", nil, "2001:db8::1"},
		{"default: no port", nil, "192.0.2.1", nil, "192.0.2.1"},
		{"untrusted peer", login.ForwardedFor(proxy), "192.0.2.1:1", []string{"198.51.100.1"}, "192.0.2.1"},
		{"no trusted proxies", login.ForwardedFor(), "10.0.0.1:1", []string{"198.51.100.1"}, "10.0.0.1"},
		{"trusted peer", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"rightmost untrusted", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"1.1.1.1, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several headers", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"1.1.1.1", "198.51.100.1,10.1.2.3"}, "198.51.100.1"},
		{"ports and brackets", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"[2001:db8::7]:8080, 10.0.0.2:99"}, "2001:db8::7"},
		{"bracketed without port", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"[2001:db8::7]"}, "2001:db8::7"},
		{"garbage ends trust", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"198.51.100.1, evil, 10.0.0.5"}, "10.0.0.5"},
		{"all trusted", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"no header", login.ForwardedFor(proxy), "10.0.0.1:1", nil, "10.0.0.1"},
		{"empty entries", login.ForwardedFor(proxy), "10.0.0.1:1", []string{" , 198.51.100.1 ,, "}, "198.51.100.1"},
		{"mapped proxy", login.ForwardedFor(proxy), "[::ffff:10.0.0.1]:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"zone dropped", login.ForwardedFor(proxy), "10.0.0.1:1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"unmasked prefix", login.ForwardedFor(netip.MustParsePrefix("10.9.9.9/8")), "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recordingLimiter{}
			fx := newFixture(t, tokenauth.Options{}, login.Options{Limiter: rec, ClientAddr: c.clientAddr})
			ct, body := encodeJSON(t, credentials("  john ", password))
			r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			r.RemoteAddr = c.remoteAddr
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			w := httptest.NewRecorder()
			fx.h.ServeHTTP(w, r)
			tokenOf(t, w)
			assert.Equal(t, []login.LimitKey{{Addr: c.want, Username: "john"}}, rec.keys)
		})
	}
}
