package keyformat

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		key, err := Generate(DefaultPrefix, nil)
		require.NoError(t, err)
		require.Len(t, key, len("tka_")+bodyLen+checksumLen)
		assert.True(t, strings.HasPrefix(key, "tka_"))
		assert.True(t, validPrefixed("", key))
		assert.False(t, seen[key], "duplicate token")
		seen[key] = true
	}
	key, err := Generate("myapp", nil)
	require.NoError(t, err)
	assert.True(t, Valid("myapp", key, nil))
	assert.False(t, Valid("tka", key, nil))
}

func TestGenerateRandFailure(t *testing.T) {
	old := randReader
	randReader = strings.NewReader("short")
	defer func() { randReader = old }()
	_, err := Generate(DefaultPrefix, nil)
	assert.Error(t, err)
	_, err = NewID()
	assert.Error(t, err)
}

func TestParseRejects(t *testing.T) {
	valid, err := Generate(DefaultPrefix, nil)
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
			assert.False(t, validPrefixed("", key))
		})
	}
}

func TestIsLegacyKey(t *testing.T) {
	assert.True(t, IsLegacy("0123456789abcdef0123456789abcdef01234567"))
	assert.False(t, IsLegacy("0123456789ABCDEF0123456789abcdef01234567"))
	assert.False(t, IsLegacy("0123456789abcdef0123456789abcdef0123456"))
	assert.False(t, IsLegacy("0123456789abcdef0123456789abcdef0123456g"))
}

func TestIsUUIDKey(t *testing.T) {
	assert.True(t, IsUUID("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c"))
	assert.True(t, IsUUID("0B6F1C2E-8A4D-4F3E-9C1B-2D3E4F5A6B7C"))
	assert.False(t, IsUUID("0b6f1c2e8a4d4f3e9c1b2d3e4f5a6b7c"))
	assert.False(t, IsUUID("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7"))
	assert.False(t, IsUUID("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7g"))
	assert.False(t, IsUUID("0b6f1c2e-8a4d-4f3e-9c1b_2d3e4f5a6b7c"))
}

func TestChecksumMatchesCRC32OfPrefixAndBody(t *testing.T) {
	// The format is documented: CRC32-IEEE of prefix+body, base62, 6 chars.
	// "tka" + 43 zeros has a fixed checksum (Python: zlib.crc32 in base62);
	// pin it so the format cannot drift.
	body := strings.Repeat("0", bodyLen)
	var sum [checksumLen]byte
	encodeChecksum(&sum, checksum("tka", body))
	key := "tka_" + body + string(sum[:])
	assert.True(t, validPrefixed("", key))
	assert.Equal(t, "tka_"+body+"3KNUdP", key)
}

func BenchmarkValid(b *testing.B) {
	key, err := Generate(DefaultPrefix, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !Valid(DefaultPrefix, key, nil) {
			b.Fatal("valid key rejected")
		}
	}
}

func TestKeyedSum(t *testing.T) {
	keyed := func(secret uint32) Sum {
		return func(prefix, body string) uint32 { return checksum(prefix, body) ^ secret }
	}
	key, err := Generate(DefaultPrefix, keyed(0x5eed))
	require.NoError(t, err)
	assert.True(t, Valid(DefaultPrefix, key, keyed(0x5eed)))
	assert.False(t, Valid(DefaultPrefix, key, nil), "a keyed key must fail the public CRC32")
	assert.False(t, Valid(DefaultPrefix, key, keyed(0xbad)), "another server key refuses it")

	public, err := Generate(DefaultPrefix, nil)
	require.NoError(t, err)
	assert.False(t, Valid(DefaultPrefix, public, keyed(0x5eed)), "a key anyone can mint is refused where the checksum is keyed")
}
