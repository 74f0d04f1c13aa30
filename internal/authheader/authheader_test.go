package authheader

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
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
		{"Token", false, "", ErrNoKey},
		{"Token a b", false, "", ErrSpaces},
		{"Token a\x00", false, "", ErrInvalidChars},
		{"Token a\x7f", false, "", ErrInvalidChars},
		{"Token \xc3\x28", false, "", ErrInvalidChars},
		{"Token é", false, "é", nil},
		{"abc", false, "", ErrNoCredentials},
		{"abc", true, "abc", nil},
		{"abc def", true, "", ErrSpaces},
	}
	for _, tc := range cases {
		key, err := Parse(tc.in, kw, tc.raw)
		assert.Equal(t, tc.key, key, "%q", tc.in)
		assert.Equal(t, tc.err, err, "%q", tc.in)
		if tc.err != nil && tc.err != ErrNoCredentials {
			assert.ErrorIs(t, err, ErrMalformed, "%q", tc.in)
		}
	}
}
