package selfservice

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeCreate checks the hand-written create body decoder against
// encoding/json: it refuses as unparsable exactly what json.Valid
// refuses, never panics, and what it accepts is within the bounds every
// store and the per-request check rely on.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"deploy","scopes":["read"],"ttl_seconds":86400,"allowed_ips":["192.0.2.0/24","2001:db8::1"],"rate_limit":{"limit":60,"window_seconds":60}}`,
		`{"name":"x","denied_ips":["::ffff:10.0.0.0/104"],"not_before":"2026-01-02T03:04:05Z"}`,
		`{"name":"x","name":"y"}`, `{"name":null}`, `[]`, `"x"`, `1`, `null`, `{"rate_limit":{"limit":1.0,"window_seconds":1e2}}`,
		`{"name":"a\u0000"}`, `{`, `{"a":1}{`, ` {"name" : "x" } `, `{"rate_limit":{"limit":1,"limit":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, errs, err := decodeCreate(data)
		if (err != nil) != !json.Valid(data) {
			t.Fatalf("parse error %v, but json.Valid = %v", err, json.Valid(data))
		}
		if err != nil || errs != nil {
			if _, merr := json.Marshal(errs); merr != nil {
				t.Fatalf("errors do not encode: %v", merr)
			}
			if b.name != "" || b.scopes != nil || b.allowedIPs != nil {
				t.Fatalf("a refused body leaked values: %+v", b)
			}
			return
		}
		if b.name == "" || utf8.RuneCountInString(b.name) > maxNameLen || !printable(b.name) {
			t.Fatalf("name %q accepted", b.name)
		}
		if len(b.scopes) > maxScopes {
			t.Fatalf("%d scopes accepted", len(b.scopes))
		}
		for _, s := range b.scopes {
			if s == "" || len(s) > maxScopeLen || !printable(s) {
				t.Fatalf("scope %q accepted", s)
			}
		}
		if b.ttl < 0 || b.ttl > maxSeconds*time.Second || b.ttl%time.Second != 0 {
			t.Fatalf("ttl %s accepted", b.ttl)
		}
		if (b.rateLimit > 0) != (b.rateWindow > 0) || b.rateLimit < 0 || b.rateLimit > maxRateLimit || b.rateWindow < 0 {
			t.Fatalf("rate limit %d per %s accepted", b.rateLimit, b.rateWindow)
		}
		for _, ps := range [][]netip.Prefix{b.allowedIPs, b.deniedIPs} {
			if len(ps) > maxRanges {
				t.Fatalf("%d ranges accepted", len(ps))
			}
			for _, p := range ps {
				if !p.IsValid() || p != p.Masked() {
					t.Fatalf("range %v accepted", p)
				}
			}
		}
	})
}
