package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// expireScript brings a token's expires and max_expires forward to at
// where they are later or unset, moves the key's deadline with expires,
// and publishes the change. The ID key and the index entry keep theirs:
// outliving the token is harmless.
// KEYS: token. ARGV: prefix, id, at (Unix microseconds), the retention in
// milliseconds.
var expireScript = redis.NewScript(publishChanged + `
local cur = redis.call('HMGET', KEYS[1], 'id', 'user', 'expires', 'max_expires')
if cur[1] ~= ARGV[2] then return 0 end
local at = tonumber(ARGV[3])
local exp, moved = cur[3], false
if not exp or exp == '' or tonumber(exp) > at then
  exp = ARGV[3]
  redis.call('HSET', KEYS[1], 'expires', exp)
  moved = true
end
if not cur[4] or cur[4] == '' or tonumber(cur[4]) > at then
  redis.call('HSET', KEYS[1], 'max_expires', ARGV[3])
  moved = true
end
if not moved then return 1 end
local deadline = string.format('%.0f', math.max(math.ceil(tonumber(exp) / 1000) + tonumber(ARGV[4]), 1))
redis.call('PEXPIREAT', KEYS[1], deadline)
changed(ARGV[1], ARGV[2], cur[2])
return 1
`)

// Expire brings a token's expiry forward, for Rotate's grace period: the
// token's ExpiresAt and MaxExpiresAt become at where they are later or
// unset, atomically, and every watching cache hears of it. Redis deletes
// the token Options.Retention after at. It returns tokenauth.ErrNotFound
// if the token is gone. Two round trips: the ID key, then the token.
func (s *Store) Expire(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return errors.New("redisstore: expire: zero time")
	}
	h, err := s.digestOf(ctx, id)
	if err != nil {
		return fmt.Errorf("redisstore: expire: %w", err)
	}
	found, err := expireScript.Run(ctx, s.client, []string{s.tokenKey(h)},
		s.prefix, id, encodeTime(at), s.retentionText).Int()
	if err != nil {
		return fmt.Errorf("redisstore: expire: %w", err)
	}
	if found == 0 {
		return tokenauth.ErrNotFound
	}
	return nil
}
