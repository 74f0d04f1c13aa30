package authheader

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks the header parser on arbitrary input: it
// never panics, returns exactly one of its documented outcomes, and any key
// it returns is a whitespace-free, valid UTF-8 substring of the input.
func FuzzParse(f *testing.F) {
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
		key, err := Parse(value, keywords, raw)
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
		case ErrNoCredentials, ErrNoKey, ErrSpaces, ErrInvalidChars:
			if key != "" {
				t.Fatalf("error %v with key %q", err, key)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
