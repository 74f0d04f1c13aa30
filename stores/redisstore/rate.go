package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// rateScript counts a call against a fixed window, in one step: the
// window opens at the first call counted, when the key is created to
// expire with it, and at most limit calls pass until it ends; the first
// call after that opens the next. A refused call is not counted. It
// returns 1 for a call that passes; for one refused, 0 and the
// milliseconds left in the window, at least 1.
// KEYS: the counter. ARGV: limit, the window in milliseconds.
var rateScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    -- A counter without expiry (written by hand) would refuse for ever.
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {0, math.max(ttl, 1)} -- less than a millisecond left: still some
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, 0}
`)

// rateKey is the counter of a rate limit key: "P r:<key>", hashed on its
// own (a key holding a hash tag shares that tag's slot).
func (s *Store) rateKey(key string) string { return s.prefix + "r:" + key }

// CountRate counts a call under key, for a rate limit shared by every
// replica: at most limit calls pass in each window, counted in Redis, so
// that running more replicas does not raise the limit. It reports whether
// this call passes, and, when it does not, how long until the window ends
// (for Retry-After). It has the shape of tokenauth.Options.RateCounter.
//
// Windows are fixed, not sliding: a window opens at the first call after
// the last one ended and lasts window (rounded up to a millisecond), and
// at most limit calls pass in it. Calls refused are not counted. So at
// most limit calls pass in each window, but up to twice limit may pass
// within one window's length across the end of one window and the start of
// the next. The counter is one key, P r:<key>, that expires with its
// window, changed by one Lua script: atomic, with any number of replicas
// and goroutines, and on a cluster in the key's own slot.
//
// key is stored in the key's name: pass something public, such as a token
// ID, never a token. An error (Redis unreachable, limit or window not
// positive) comes with ok false: the caller decides whether to let the
// call through.
func (s *Store) CountRate(ctx context.Context, key string, limit int, window time.Duration) (retryAfter time.Duration, ok bool, err error) {
	if limit <= 0 || window <= 0 {
		return 0, false, errors.New("redisstore: count rate: limit and window must be positive")
	}
	ms := window.Milliseconds()
	if window%time.Millisecond != 0 {
		ms++
	}
	res, err := rateScript.Run(ctx, s.client, []string{s.rateKey(key)}, limit, ms).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: count rate: %w", err)
	}
	if len(res) != 2 {
		return 0, false, errors.New("redisstore: count rate: unexpected reply")
	}
	if res[0] == 1 {
		return 0, true, nil
	}
	return time.Duration(res[1]) * time.Millisecond, false, nil
}
