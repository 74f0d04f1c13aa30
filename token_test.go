package tokenauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		key, err := Generate("")
		require.NoError(t, err)
		require.Len(t, key, len("tka_")+bodyLen+checksumLen)
		assert.True(t, strings.HasPrefix(key, "tka_"))
		assert.NoError(t, Parse("", key))
		assert.False(t, seen[key], "duplicate token")
		seen[key] = true
	}
	key, err := Generate("myapp")
	require.NoError(t, err)
	assert.NoError(t, Parse("myapp", key))
	assert.ErrorIs(t, Parse("tka", key), ErrInvalidToken)
}

func TestGenerateBadPrefix(t *testing.T) {
	for _, p := range []string{"a_b", "spa ce", strings.Repeat("x", 17), "é"} {
		_, err := Generate(p)
		assert.ErrorIs(t, err, ErrInvalidOptions, p)
	}
}

func TestGenerateRandFailure(t *testing.T) {
	old := randReader
	randReader = strings.NewReader("short")
	defer func() { randReader = old }()
	_, err := Generate("")
	assert.Error(t, err)
	_, err = NewID()
	assert.Error(t, err)
}

func TestParseRejects(t *testing.T) {
	valid, err := Generate("")
	require.NoError(t, err)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":           "",
		"prefix only":     "tka_",
		"wrong prefix":    "tkb" + valid[3:],
		"no underscore":   "tka-" + valid[4:],
		"one short":       valid[:len(valid)-1],
		"one long":        valid + "a",
		"body typo":       flip(valid, 10),
		"checksum typo":   flip(valid, len(valid)-1),
		"invalid char":    valid[:10] + "-" + valid[11:],
		"non-ASCII":       valid[:10] + "é" + valid[12:],
		"legacy DRF key":  "0123456789abcdef0123456789abcdef01234567",
		"upper-case pref": "TKA" + valid[3:],
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, Parse("", key), ErrInvalidToken)
		})
	}
}

func TestIsLegacyKey(t *testing.T) {
	assert.True(t, IsLegacyKey("0123456789abcdef0123456789abcdef01234567"))
	assert.False(t, IsLegacyKey("0123456789ABCDEF0123456789abcdef01234567"))
	assert.False(t, IsLegacyKey("0123456789abcdef0123456789abcdef0123456"))
	assert.False(t, IsLegacyKey("0123456789abcdef0123456789abcdef0123456g"))
}

func TestChecksumMatchesCRC32OfPrefixAndBody(t *testing.T) {
	// The format is documented: CRC32-IEEE of prefix+body, base62, 6 chars.
	// "tka" + 43 zeros has a fixed checksum (Python: zlib.crc32 in base62);
	// pin it so the format cannot drift.
	body := strings.Repeat("0", bodyLen)
	var sum [checksumLen]byte
	encodeChecksum(&sum, checksum("tka", body))
	key := "tka_" + body + string(sum[:])
	assert.NoError(t, Parse("", key))
	assert.Equal(t, "tka_"+body+"3KNUdP", key)
}

func TestTokenScopes(t *testing.T) {
	tok := &Token{Scopes: []string{"read", "write"}}
	assert.True(t, tok.HasScopes("read", "write"))
	assert.True(t, tok.HasScopes())
	assert.False(t, tok.HasScopes("read", "admin"))
	all := &Token{Scopes: []string{"*"}}
	assert.True(t, all.HasScopes("anything", "else"))
	var se *ScopeError
	err := CheckScopes(tok, "admin")
	require.True(t, errors.As(err, &se))
	assert.Equal(t, []string{"admin"}, se.Required)
	assert.ErrorIs(t, err, ErrInsufficientScope)
	assert.ErrorIs(t, CheckScopes(nil), ErrInsufficientScope)
}

func TestTokenClone(t *testing.T) {
	tok := &Token{ID: "a", Scopes: []string{"x"}, Digest: []byte{1}}
	c := tok.Clone()
	c.Scopes[0], c.Digest[0] = "y", 2
	assert.Equal(t, "x", tok.Scopes[0])
	assert.Equal(t, byte(1), tok.Digest[0])
	assert.Nil(t, (*Token)(nil).Clone())
}
