package tokenauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseAuthorization(t *testing.T) {
	kw := []string{"Token"}
	cases := []struct {
		in  string
		raw bool
		key string
		err error
	}{
		{"", false, "", ErrNoCredentials},
		{"   ", false, "", ErrNoCredentials},
		{"Token abc", false, "abc", nil},
		{"\x0b\x0cToken\r\n\tabc \t", false, "abc", nil},
		{"tOkEn abc", false, "abc", nil},
		{"Tokens abc", false, "", ErrNoCredentials},
		{"Token", false, "", errHeaderNoKey},
		{"Token a b", false, "", errHeaderSpaces},
		{"Token a\x00", false, "", errHeaderInvalidChars},
		{"Token a\x7f", false, "", errHeaderInvalidChars},
		{"Token \xc3\x28", false, "", errHeaderInvalidChars},
		{"Token é", false, "é", nil},
		{"abc", false, "", ErrNoCredentials},
		{"abc", true, "abc", nil},
		{"abc def", true, "", errHeaderSpaces},
	}
	for _, tc := range cases {
		key, err := parseAuthorization(tc.in, kw, tc.raw)
		assert.Equal(t, tc.key, key, "%q", tc.in)
		assert.Equal(t, tc.err, err, "%q", tc.in)
		if tc.err != nil && tc.err != ErrNoCredentials {
			assert.ErrorIs(t, err, ErrMalformedHeader, "%q", tc.in)
		}
	}
}
