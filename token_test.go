package tokenauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBadPrefix(t *testing.T) {
	for _, p := range []string{"a_b", "spa ce", strings.Repeat("x", 17), "é"} {
		_, err := New(newMemStore(), Options{Prefix: p})
		assert.ErrorIs(t, err, ErrInvalidOptions, p)
	}
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

func (s *mapStore) Delete(context.Context, string) error            { return ErrNotFound }
func (s *mapStore) List(context.Context, string) ([]*Token, error)  { return nil, nil }
func (s *mapStore) Touch(context.Context, []TokenUse) error         { return nil }
func (s *mapStore) Expire(context.Context, string, time.Time) error { return ErrNotFound }
func (s *mapStore) DeleteUser(context.Context, string, time.Time, ...string) (int, error) {
	return 0, nil
}

// BenchmarkParse is the token format check alone.
