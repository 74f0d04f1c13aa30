package tokenauth

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAuthorization checks the header parser on arbitrary input: it
// never panics, returns exactly one of its documented outcomes, and any key
// it returns is a whitespace-free, valid UTF-8 substring of the input.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", " ", "Token", "Token ", "token abc", "TOKEN\tabc", "  Token  abc  ",
		"Token a b", "Bearer abc", "Basic dXNlcjpwYXNz", "Token \xff\xfe", "Token a\x00b",
		"Token tka_0000000000000000000000000000000000000000000000000",
		"Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "\x0bToken\x0cabc\r\n",
		"Token, Token", strings.Repeat("Token ", 100), "Tokén abc", "Token é",
		"Token  abc", "Token abc ", "token\x7fabc", "Token abc\x7f", "Token ~!", "Bearer x", "Bearer",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	keywords := []string{"Token", "Bearer"}
	f.Fuzz(func(t *testing.T, value string, raw bool) {
		key, err := parseAuthorization(value, keywords, raw)
		// The quick path must agree with the general parser everywhere.
		if k2, e2 := parseWords(value, keywords, raw); k2 != key || e2 != err {
			t.Fatalf("quick path gave (%q, %v), general parser (%q, %v)", key, err, k2, e2)
		}
		switch err {
		case nil:
			if key == "" || !strings.Contains(value, key) {
				t.Fatalf("key %q is not part of %q", key, value)
			}
			if strings.ContainsAny(key, " \t\r\n\v\f") || !utf8.ValidString(key) {
				t.Fatalf("key %q holds whitespace or invalid UTF-8", key)
			}
			for _, c := range []byte(key) {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("key %q holds a control byte", key)
				}
			}
		case ErrNoCredentials, errHeaderNoKey, errHeaderSpaces, errHeaderInvalidChars:
			if key != "" {
				t.Fatalf("error %v with key %q", err, key)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzParse checks the token parser: it never panics, accepts only strings
// of the documented shape, every well-formed token round-trips, and a
// one-character typo is always caught (CRC32 detects every single-symbol
// error).
func FuzzParse(f *testing.F) {
	valid, err := generate(defaultPrefix)
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
		err := parsePrefixed(prefix, key)
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil {
			p := prefix
			if p == "" {
				p = defaultPrefix
			}
			if !strings.HasPrefix(key, p+"_") || len(key) != len(p)+1+49 {
				t.Fatalf("accepted %q for prefix %q", key, prefix)
			}
		}
		// Whatever the input, a well-formed token built from it parses, and
		// a single changed character is caught.
		p := prefix
		if p == "" {
			p = defaultPrefix
		}
		if !validPrefix(p) {
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
		if err := parsePrefixed(prefix, good); err != nil {
			t.Fatalf("well-formed token %q does not parse: %v", good, err)
		}
		bad := []byte(good)
		i := len(p) + 1 + len(key)%(bodyLen+checksumLen)
		bad[i] = base62Alphabet[(strings.IndexByte(base62Alphabet, bad[i])+1)%62]
		if parsePrefixed(prefix, string(bad)) == nil {
			t.Fatalf("typo at %d in %q not caught", i, good)
		}
	})
}

// parsePrefixed is parse for any prefix, the empty one meaning the default.
func parsePrefixed(prefix, key string) error {
	if prefix == "" {
		prefix = defaultPrefix
	}
	if !validPrefix(prefix) {
		return ErrInvalidToken
	}
	return parse(prefix, key)
}
