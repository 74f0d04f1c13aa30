package tokenauth

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkConstrain is what the per-token checks add to a request after
// the token is found: nothing for a token without constraints; for one
// with an allow list of 10 ranges (the client's last) and a rate limit,
// the client address, the list and the in-process count.
func BenchmarkConstrain(b *testing.B) {
	var allowed []netip.Prefix
	for i := range 9 {
		allowed = append(allowed, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
	}
	allowed = append(allowed, netip.MustParsePrefix("192.0.2.0/24"))
	a, err := New(nopStore{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil) // from 192.0.2.1
	ctx := context.Background()
	for _, c := range []struct {
		name string
		t    *Token
	}{
		{"plain", &Token{ID: "a"}},
		{"constrained", &Token{ID: "b", AllowedIPs: allowed, RateLimit: 1 << 62, RateWindow: time.Hour}},
	} {
		b.Run(c.name, func(b *testing.B) {
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if err := a.constrain(ctx, c.t, now, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nopStore is a Store the benchmark never calls.
type nopStore struct{ Store }
