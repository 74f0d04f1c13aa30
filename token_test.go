package tokenauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		key, err := generate(defaultPrefix)
		require.NoError(t, err)
		require.Len(t, key, len("tka_")+bodyLen+checksumLen)
		assert.True(t, strings.HasPrefix(key, "tka_"))
		assert.NoError(t, parsePrefixed("", key))
		assert.False(t, seen[key], "duplicate token")
		seen[key] = true
	}
	key, err := generate("myapp")
	require.NoError(t, err)
	assert.NoError(t, parse("myapp", key))
	assert.ErrorIs(t, parse("tka", key), ErrInvalidToken)
}

func TestBadPrefix(t *testing.T) {
	for _, p := range []string{"a_b", "spa ce", strings.Repeat("x", 17), "é"} {
		_, err := New(newMemStore(), Options{Prefix: p})
		assert.ErrorIs(t, err, ErrInvalidOptions, p)
	}
}

func TestGenerateRandFailure(t *testing.T) {
	old := randReader
	randReader = strings.NewReader("short")
	defer func() { randReader = old }()
	_, err := generate(defaultPrefix)
	assert.Error(t, err)
	_, err = newID()
	assert.Error(t, err)
}

func TestParseRejects(t *testing.T) {
	valid, err := generate(defaultPrefix)
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
			assert.ErrorIs(t, parsePrefixed("", key), ErrInvalidToken)
		})
	}
}

func TestIsLegacyKey(t *testing.T) {
	assert.True(t, isLegacyKey("0123456789abcdef0123456789abcdef01234567"))
	assert.False(t, isLegacyKey("0123456789ABCDEF0123456789abcdef01234567"))
	assert.False(t, isLegacyKey("0123456789abcdef0123456789abcdef0123456"))
	assert.False(t, isLegacyKey("0123456789abcdef0123456789abcdef0123456g"))
}

func TestIsUUIDKey(t *testing.T) {
	assert.True(t, isUUIDKey("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c"))
	assert.True(t, isUUIDKey("0B6F1C2E-8A4D-4F3E-9C1B-2D3E4F5A6B7C"))
	assert.False(t, isUUIDKey("0b6f1c2e8a4d4f3e9c1b2d3e4f5a6b7c"))
	assert.False(t, isUUIDKey("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7"))
	assert.False(t, isUUIDKey("0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7g"))
	assert.False(t, isUUIDKey("0b6f1c2e-8a4d-4f3e-9c1b_2d3e4f5a6b7c"))
}

func TestChecksumMatchesCRC32OfPrefixAndBody(t *testing.T) {
	// The format is documented: CRC32-IEEE of prefix+body, base62, 6 chars.
	// "tka" + 43 zeros has a fixed checksum (Python: zlib.crc32 in base62);
	// pin it so the format cannot drift.
	body := strings.Repeat("0", bodyLen)
	var sum [checksumLen]byte
	encodeChecksum(&sum, checksum("tka", body))
	key := "tka_" + body + string(sum[:])
	assert.NoError(t, parsePrefixed("", key))
	assert.Equal(t, "tka_"+body+"3KNUdP", key)
}

func TestTokenScopes(t *testing.T) {
	tok := &Token{Scopes: []string{"read", "write"}}
	assert.True(t, tok.HasScopes("read", "write"))
	assert.True(t, tok.HasScopes())
	assert.False(t, tok.HasScopes("read", "admin"))
	all := &Token{Scopes: []string{"*"}}
	assert.True(t, all.HasScopes("anything", "else"))
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name              string
		expires, deadline time.Time
		want              bool
	}{
		{"never", time.Time{}, time.Time{}, false},
		{"before expiry", now.Add(time.Second), time.Time{}, false},
		{"at expiry", now, time.Time{}, true},
		{"deadline passed, expiry stretched", now.Add(time.Hour), now, true},
		{"deadline ahead", now.Add(time.Second), now.Add(time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := &Token{ExpiresAt: tc.expires, MaxExpiresAt: tc.deadline}
			assert.Equal(t, tc.want, tok.Expired(now))
		})
	}
}

func TestTokenClone(t *testing.T) {
	tok := &Token{ID: "a", Scopes: []string{"x"}, Digest: []byte{1}}
	c := tok.Clone()
	c.Scopes[0], c.Digest[0] = "y", 2
	assert.Equal(t, "x", tok.Scopes[0])
	assert.Equal(t, byte(1), tok.Digest[0])
	assert.Nil(t, (*Token)(nil).Clone())
}

// newMemStore is a Store for tests inside the package, which cannot import
// memstore (memstore's tests import this package).
func newMemStore() Store { return &mapStore{byDigest: map[string]*Token{}} }

type mapStore struct {
	byDigest map[string]*Token
}

func (s *mapStore) Create(_ context.Context, t *Token) error {
	s.byDigest[string(t.Digest)] = t
	return nil
}

func (s *mapStore) Find(_ context.Context, digest []byte) (*Token, error) {
	if t, ok := s.byDigest[string(digest)]; ok {
		return t, nil
	}
	return nil, ErrNotFound
}

func (s *mapStore) Delete(context.Context, string) error                      { return ErrNotFound }
func (s *mapStore) DeleteUser(context.Context, string) (int, error)           { return 0, nil }
func (s *mapStore) List(context.Context, string) ([]*Token, error)            { return nil, nil }
func (s *mapStore) Touch(context.Context, string, time.Time, time.Time) error { return nil }

// BenchmarkParse is the token format check alone.
func BenchmarkParse(b *testing.B) {
	key, err := generate(defaultPrefix)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if parse(defaultPrefix, key) != nil {
			b.Fatal("valid key rejected")
		}
	}
}
