package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddr(t *testing.T) {
	rule := New([]netip.Prefix{netip.MustParsePrefix("10.9.9.9/8")})
	for _, c := range []struct {
		name       string
		rule       Rule
		remoteAddr string
		xff        []string
		want       string
	}{
		{"peer", Rule{}, "192.0.2.1:4242", []string{"198.51.100.1"}, "192.0.2.1"},
		{"peer IPv6", Rule{}, "[2001:db8::1]:4242", nil, "2001:db8::1"},
		{"peer mapped", Rule{}, "[::ffff:192.0.2.1]:4242", nil, "192.0.2.1"},
		{"peer without port", Rule{}, "192.0.2.1", nil, "192.0.2.1"},
		{"no address", Rule{}, "@", nil, "invalid IP"},
		{"trusted peer", rule, "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"rightmost untrusted", rule, "10.0.0.1:1", []string{"1.1.1.1, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several headers", rule, "10.0.0.1:1", []string{"1.1.1.1", "198.51.100.1,10.1.2.3"}, "198.51.100.1"},
		{"garbage ends trust", rule, "10.0.0.1:1", []string{"198.51.100.1, evil, 10.0.0.5"}, "10.0.0.5"},
		{"all trusted", rule, "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"zone dropped", rule, "10.0.0.1:1", []string{"fe80::1%eth0"}, "fe80::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remoteAddr
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, c.want, c.rule.Addr(r).String())
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:443", "[::ffff:1.2.3.4]", "fe80::1%eth0", "", "[", "::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := Parse(s)
		if !ok {
			if ip.IsValid() {
				t.Fatalf("Parse(%q) = %v, false", s, ip)
			}
			return
		}
		if !ip.IsValid() || ip.Is4In6() || ip.Zone() != "" {
			t.Fatalf("Parse(%q) = %v: want a valid unmapped address without zone", s, ip)
		}
		if back, ok := Parse(ip.String()); !ok || back != ip {
			t.Fatalf("Parse(%q) does not round-trip: %v", ip.String(), back)
		}
		p, _ := peer(s)
		if p != ip {
			t.Fatalf("peer(%q) = %v, Parse = %v", s, p, ip)
		}
	})
}
