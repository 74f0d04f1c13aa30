package sqlstore

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// FuzzPrefixesColumn reads any text an allowed_ips or denied_ips column
// may hold (a host may write it by hand): it is refused, without quoting
// it, or read as prefixes that write back as text that reads back the
// same.
func FuzzPrefixesColumn(f *testing.F) {
	for _, s := range []string{
		"", "10.0.0.0/8", "10.0.0.0/8,2001:db8::/32", "10.1.2.3/8", "::ffff:10.1.0.0/112", " 10.0.0.0/8 , 192.0.2.7/32",
		"10.0.0.0/8,", ",", "10.0.0.0", "10.0.0.0/33", "fe80::1%eth0/64", "0.0.0.0/0,::/0", "1.2.3.4/32,secret",
	} {
		f.Add(s)
	}
	refused := (&prefixesColumn{}).Scan("x")
	f.Fuzz(func(t *testing.T, s string) {
		var c prefixesColumn
		if err := c.Scan(s); err != nil {
			if err.Error() != refused.Error() {
				t.Fatalf("the error depends on the column: %v", err)
			}
			return
		}
		if s == "" {
			if c.p != nil {
				t.Fatalf("empty text read as %v", c.p)
			}
			return
		}
		text, err := encodePrefixes(c.p)
		if err != nil {
			if errors.Is(err, ErrInvalidRecord) && len(s) > maxPrefixesLen/2 {
				return // over-long once canonical
			}
			t.Fatalf("%q read as %v, which does not write back: %v", s, c.p, err)
		}
		var again prefixesColumn
		if err := again.Scan([]byte(text.(string))); err != nil {
			t.Fatalf("%q written back as %q, which does not read: %v", s, text, err)
		}
		if !slices.Equal(c.p, again.p) {
			t.Fatalf("%q read as %v, written as %q, read back as %v", s, c.p, text, again.p)
		}
	})
}

// encodePrefixes and decodePrefixes are inverse on valid prefixes,
// whatever their host bits and form.
func TestPrefixesRoundTrip(t *testing.T) {
	in := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("10.1.2.3/8"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"),
		netip.MustParsePrefix("0.0.0.0/0"),
		netip.MustParsePrefix("::/0"),
		netip.PrefixFrom(netip.MustParseAddr("fe80::1%eth0"), 64), // the zone is dropped by PrefixFrom
	}
	text, err := encodePrefixes(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "10.0.0.0/8,10.1.2.3/8,2001:db8::/32,::ffff:192.0.2.0/120,0.0.0.0/0,::/0,fe80::1/64"; text != want {
		t.Fatalf("encoded %q, want %q", text, want)
	}
	out, err := decodePrefixes(text.(string))
	if err != nil || !slices.Equal(in, out) {
		t.Fatalf("decoded %v, %v; want %v", out, err, in)
	}
	if none, err := encodePrefixes(nil); none != nil || err != nil {
		t.Fatalf("no prefixes encoded as %v, %v; want NULL", none, err)
	}
}
