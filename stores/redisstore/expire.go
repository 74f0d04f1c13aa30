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
// where they are later or unset, moves the keys' deadline with expires,
// and publishes the change. The user's set keeps its expiry: it may hold
// longer-lived tokens, and outliving them is harmless.
// KEYS: id. ARGV: prefix, id, at (Unix microseconds), the retention in
// milliseconds.
var expireScript = redis.NewScript(publishChanged + `
local digest = redis.call('GET', KEYS[1])
if not digest then return 0 end
local tk = ARGV[1] .. 't:' .. digest
local cur = redis.call('HMGET', tk, 'user', 'expires', 'max_expires')
if not cur[1] then return 0 end
local at = tonumber(ARGV[3])
local exp, moved = cur[2], false
if not exp or exp == '' or tonumber(exp) > at then
  exp = ARGV[3]
  redis.call('HSET', tk, 'expires', exp)
  moved = true
end
if not cur[3] or cur[3] == '' or tonumber(cur[3]) > at then
  redis.call('HSET', tk, 'max_expires', ARGV[3])
  moved = true
end
if not moved then return 1 end
local deadline = string.format('%.0f', math.max(math.ceil(tonumber(exp) / 1000) + tonumber(ARGV[4]), 1))
redis.call('PEXPIREAT', tk, deadline)
redis.call('PEXPIREAT', KEYS[1], deadline)
changed(ARGV[1], ARGV[2], cur[1])
return 1
`)

// Expire implements tokenauth.Expirer, for Rotate's grace period: the
// token's ExpiresAt and MaxExpiresAt become at where they are later or
// unset, atomically, and every watching cache hears of it. Redis deletes
// the token Options.Retention after at. It returns tokenauth.ErrNotFound
// if the token is gone.
func (s *Store) Expire(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return errors.New("redisstore: expire: zero time")
	}
	found, err := expireScript.Run(ctx, s.client, []string{s.idKey(id)},
		s.prefix, id, encodeTime(at), s.retentionText).Int()
	if err != nil {
		return fmt.Errorf("redisstore: expire: %w", err)
	}
	if found == 0 {
		return tokenauth.ErrNotFound
	}
	return nil
}
