package keyformat

import (
	"strings"
	"testing"
)

// FuzzParse checks the token parser: it never panics, accepts only strings
// of the documented shape, every well-formed token round-trips, and a
// one-character typo is always caught (CRC32 detects every single-symbol
// error).
func FuzzParse(f *testing.F) {
	valid, err := Generate(DefaultPrefix, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", "tka_", valid, valid[:len(valid)-1], valid + "0", strings.ToUpper(valid),
		"tka_0000000000000000000000000000000000000000000000000", "tka_" + strings.Repeat("z", 49),
		"9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "tka_\x00", "tka_" + strings.Repeat("é", 25),
	} {
		f.Add("", s)
		f.Add("myapp", s)
	}
	f.Fuzz(func(t *testing.T, prefix, key string) {
		if validPrefixed(prefix, key) {
			p := prefix
			if p == "" {
				p = DefaultPrefix
			}
			if !strings.HasPrefix(key, p+"_") || len(key) != len(p)+1+49 {
				t.Fatalf("accepted %q for prefix %q", key, prefix)
			}
		}
		// Whatever the input, a well-formed token built from it parses, and
		// a single changed character is caught.
		p := prefix
		if p == "" {
			p = DefaultPrefix
		}
		if !ValidPrefix(p) {
			return
		}
		body := make([]byte, bodyLen)
		for i := range body {
			if i < len(key) {
				body[i] = base62Alphabet[int(key[i])%62]
			} else {
				body[i] = '0'
			}
		}
		var sum [checksumLen]byte
		encodeChecksum(&sum, checksum(p, string(body)))
		good := p + "_" + string(body) + string(sum[:])
		if !validPrefixed(prefix, good) {
			t.Fatalf("well-formed token %q does not parse", good)
		}
		bad := []byte(good)
		i := len(p) + 1 + len(key)%(bodyLen+checksumLen)
		bad[i] = base62Alphabet[(strings.IndexByte(base62Alphabet, bad[i])+1)%62]
		if validPrefixed(prefix, string(bad)) {
			t.Fatalf("typo at %d in %q not caught", i, good)
		}
	})
}

// validPrefixed is Valid for any prefix, the empty one meaning the
// default.
func validPrefixed(prefix, key string) bool {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return ValidPrefix(prefix) && Valid(prefix, key, nil)
}
