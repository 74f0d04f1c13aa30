package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// takeLegacyScript takes a token out of the layout before v0.1.0: it
// deletes the token, its ID key and its entry in the user's set, in one
// step, and returns the token's fields (or false if it is gone). Those
// keys share one hash tag, the old prefix's, so the script may name them.
// KEYS: the old token key. ARGV: the old prefix, the digest in hex.
var takeLegacyScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'id', 'user', 'name', 'scopes', 'created', 'expires', 'last_used', 'max_expires')
if not f[1] then return false end
redis.call('DEL', KEYS[1])
local ik = ARGV[1] .. 'id:' .. f[1]
if redis.call('GET', ik) == ARGV[2] then redis.call('DEL', ik) end
if f[2] then redis.call('SREM', ARGV[1] .. 'u:' .. f[2], f[1]) end
for i = 1, 8 do f[i] = f[i] or '' end
return f
`)

// Migrate moves the tokens that a redisstore before v0.1.0 stored, all
// under one hash tag, into this store's layout, and returns how many it
// moved. oldPrefix is the Options.Prefix of that release ("" for its
// default); its keys started with it wrapped in a hash tag unless it held
// one ("{tokenauth:}" by default).
//
// Each token is taken out of the old layout (deleted, in one script)
// before it is created in the new one: however many Migrates run at once,
// a token moves at most once, and one revoked through this store after it
// moved is never brought back. A token whose user's cut-off in this store
// is later than its creation is refused, as Create refuses it, and not
// counted; one taken when an error stops Migrate is lost, not kept: its
// holder logs in again. Keys the old layout left without a token (the ID
// keys and user sets of tokens Redis expired) are deleted.
//
// Run it while no process of the earlier release runs: a token one of
// them revokes after it moved stays valid, and one it issues after
// Migrate ran stays behind. Until a token has moved this store does not
// find it.
func (s *Store) Migrate(ctx context.Context, oldPrefix string) (int, error) {
	old := legacyPrefix(oldPrefix)
	if strings.HasPrefix(old, s.prefix) || strings.HasPrefix(s.prefix, old) {
		return 0, fmt.Errorf("%w: redisstore: migrate: the old layout's keys (%q) and this store's (%q) overlap: give this store another Prefix",
			tokenauth.ErrInvalidOptions, old, s.prefix)
	}
	fail := func(n int, err error) (int, error) { return n, fmt.Errorf("redisstore: migrate: %w", err) }
	// Every key of the old layout lies in the old tag's slot, on one node.
	var node redis.UniversalClient = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		c, err := cc.MasterForKey(ctx, old)
		if err != nil {
			return fail(0, err)
		}
		node = c
	}
	moved := 0
	it := node.Scan(ctx, 0, globEscape(old)+"t:*", 1000).Iterator()
	for it.Next(ctx) {
		h := strings.TrimPrefix(it.Val(), old+"t:")
		if _, err := hex.DecodeString(h); err != nil || h == "" {
			continue // not a token key of that layout
		}
		vals, err := takeLegacyScript.Run(ctx, s.client, []string{it.Val()}, old, h).Slice()
		switch {
		case errors.Is(err, redis.Nil):
			continue // taken by another Migrate, or expired
		case err != nil:
			return fail(moved, err)
		}
		// The layout before v0.1.0 had no policy: its fields are absent.
		t, err := decodeToken(append(vals, make([]any, len(fields)-len(vals))...))
		if err != nil {
			continue // damaged: dropped
		}
		t.Digest, _ = hex.DecodeString(h)
		switch err := s.Create(ctx, t); {
		case err == nil:
			moved++
		case errors.Is(err, tokenauth.ErrRevoked), errors.Is(err, tokenauth.ErrExists):
		default:
			return fail(moved, err)
		}
	}
	if err := it.Err(); err != nil {
		return fail(moved, err)
	}
	for _, pattern := range []string{"id:*", "u:*"} {
		it := node.Scan(ctx, 0, globEscape(old)+pattern, 1000).Iterator()
		for it.Next(ctx) {
			if err := node.Del(ctx, it.Val()).Err(); err != nil {
				return fail(moved, err)
			}
		}
		if err := it.Err(); err != nil {
			return fail(moved, err)
		}
	}
	return moved, nil
}

// legacyPrefix is where the layout before v0.1.0 put the keys of a store
// with the given Options.Prefix: the prefix wrapped in a hash tag, unless
// it held one.
func legacyPrefix(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if i := strings.IndexByte(prefix, '{'); i >= 0 && strings.IndexByte(prefix[i+1:], '}') > 0 {
		return prefix
	}
	return "{" + prefix + "}"
}

// globEscape escapes the characters SCAN's MATCH treats as a pattern.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
