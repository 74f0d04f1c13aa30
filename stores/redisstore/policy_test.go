package redisstore_test

import (
	"context"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// withPolicy sets every policy field of tok.
func withPolicy(tok *tokenauth.Token) *tokenauth.Token {
	tok.Personal = true
	tok.NotBefore = tok.CreatedAt.Add(time.Hour)
	tok.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.1.2.3/8")}
	tok.DeniedIPs = []netip.Prefix{netip.MustParsePrefix("::ffff:10.1.0.0/112")}
	tok.RateLimit, tok.RateWindow = 100, time.Minute+time.Nanosecond
	tok.CreatedFrom, tok.UserAgent = "2001:db8::1", strings.Repeat("Zoë/1.0 ", 28)+"éab"
	return tok
}

// The policy is kept in fields of the token's hash that read plainly in
// redis-cli, written only when set; Find and List read it back exactly.
func TestPolicyFields(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c, p := newStoreOn(t, b, redisstore.Options{})
		full := withPolicy(newToken(t, "u"))
		bare := newToken(t, "u")
		for _, tok := range []*tokenauth.Token{full, bare} {
			require.NoError(t, s.Create(ctx, tok.Clone()))
		}

		stored, err := c.HGetAll(ctx, p+"t:"+hex.EncodeToString(full.Digest)).Result()
		require.NoError(t, err)
		for field, want := range map[string]string{
			"personal":     "1",
			"not_before":   encodeMicros(full.NotBefore),
			"allowed_ips":  "10.0.0.0/8,2001:db8::/32,10.1.2.3/8",
			"denied_ips":   "::ffff:10.1.0.0/112",
			"rate_limit":   "100",
			"rate_window":  strconv.FormatInt(int64(time.Minute+time.Nanosecond), 10),
			"created_from": "2001:db8::1",
			"user_agent":   full.UserAgent,
		} {
			assert.Equal(t, want, stored[field], field)
		}
		stored, err = c.HGetAll(ctx, p+"t:"+hex.EncodeToString(bare.Digest)).Result()
		require.NoError(t, err)
		assert.Len(t, stored, 8, "a token without policy has the record's fields only: %v", stored)

		got, err := s.Find(ctx, full.Digest)
		require.NoError(t, err)
		assert.Equal(t, full, got)
		list, err := s.List(ctx, "u")
		require.NoError(t, err)
		require.Len(t, list, 2)
		for _, tok := range list {
			want := bare
			if tok.ID == full.ID {
				want = full
			}
			assert.Equal(t, want, tok)
		}
	})
}

// A record stored before the policy fields existed, or by a replica of an
// earlier release, reads as a token without policy.
func TestRecordWithoutPolicyFields(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c, p := newStoreOn(t, b, redisstore.Options{})
		tok := newToken(t, "u")
		h := hex.EncodeToString(tok.Digest)
		// As v0.1.0's createTokenScript wrote it.
		require.NoError(t, c.HSet(ctx, p+"t:"+h, "id", tok.ID, "user", "u", "name", tok.Name, "scopes", `["read","write"]`,
			"created", encodeMicros(tok.CreatedAt), "expires", "", "last_used", "", "max_expires", "").Err())
		require.NoError(t, c.Set(ctx, p+"id:"+tok.ID, h, 0).Err())
		got, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err)
		assert.Equal(t, tok, got)
		require.NoError(t, s.Delete(ctx, tok.ID))
	})
}

// A policy field that holds something else is an outage, not "not
// found" nor a token without policy, and the error names the field, not
// its value.
func TestUnreadablePolicyField(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{})
	for field, value := range map[string]string{
		"personal":    "yes-secret",
		"not_before":  "soon-secret",
		"allowed_ips": "10.0.0.0/8,secret",
		"denied_ips":  "10.0.0.0/8,",
		"rate_limit":  "many-secret",
		"rate_window": "1m-secret",
	} {
		tok := newToken(t, "u")
		require.NoError(t, s.Create(ctx, tok.Clone()))
		require.NoError(t, c.HSet(ctx, p+"t:"+hex.EncodeToString(tok.Digest), field, value).Err())
		_, err := s.Find(ctx, tok.Digest)
		require.Error(t, err, field)
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
		assert.Contains(t, err.Error(), field)
		assert.NotContains(t, err.Error(), "secret")
	}
}

// Create refuses a prefix that would not read back, storing nothing.
func TestCreateRefusesAnInvalidPrefix(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t, redisstore.Options{})
	tok := newToken(t, "u")
	tok.DeniedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}
	require.Error(t, s.Create(ctx, tok.Clone()))
	_, err := s.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	tok.DeniedIPs = nil
	require.NoError(t, s.Create(ctx, tok.Clone()), "the ID is free")
}
