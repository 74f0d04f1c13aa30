package redisstore

import (
	"context"
	"fmt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// touchIDScript returns the digest a token ID names, or false, and makes
// the ID key live at least until the deadline given, so that it outlives
// its token, which the touch may keep longer. KEYS: id. ARGV: the deadline
// in Unix milliseconds (empty: leave it).
var touchIDScript = redis.NewScript(`
local digest = redis.call('GET', KEYS[1])
if not digest then return false end
if ARGV[1] ~= '' then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl >= 0 then
    local t = redis.call('TIME')
    if tonumber(ARGV[1]) - (t[1] * 1000 + math.floor(t[2] / 1000)) > ttl then
      redis.call('PEXPIREAT', KEYS[1], ARGV[1])
    end
  end
end
return digest
`)

// touchScript records a use of a token that still exists; neither value
// moves backwards, and expires never moves past max_expires (absent in
// records stored before it existed). The key's deadline is worked out
// here, from the expiry once capped, as deadline does.
// KEYS: token. ARGV: token ID, last_used, expires (empty for none), and
// the retention in milliseconds.
var touchScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'id', 'last_used', 'expires', 'max_expires')
if cur[1] ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and (cur[2] == '' or tonumber(cur[2]) < tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'last_used', ARGV[2])
end
local exp = ARGV[3]
if exp ~= '' and cur[4] and cur[4] ~= '' and tonumber(cur[4]) < tonumber(exp) then exp = cur[4] end
if cur[3] ~= '' and exp ~= '' and tonumber(cur[3]) < tonumber(exp) then
  redis.call('HSET', KEYS[1], 'expires', exp)
  local deadline = string.format('%.0f', math.max(math.ceil(tonumber(exp) / 1000) + tonumber(ARGV[4]), 1))
  redis.call('PEXPIREAT', KEYS[1], deadline)
end
return 1
`)

// touchBatchSize bounds the commands of one pipeline, and so the memory
// a batch holds at once.
const touchBatchSize = 512

// Touch records uses of tokens, touchBatchSize at a time, each in two
// pipelined round trips: the ID keys give the digests (and are made to
// outlive what the uses may extend), then the tokens are touched. A use
// moves the token's Redis expiry with its ExpiresAt, never past its
// MaxExpiresAt, nor backwards. Tokens that are gone are skipped and never
// recreated, so a revocation racing with a request always wins.
func (s *Store) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	for len(uses) > 0 {
		n := min(len(uses), touchBatchSize)
		if err := s.touch(ctx, uses[:n]); err != nil {
			return fmt.Errorf("redisstore: touch: %w", err)
		}
		uses = uses[n:]
	}
	return nil
}

func (s *Store) touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	// Each ID once, with the latest deadline its uses ask for.
	latest := make(map[string]int64, len(uses))
	var order []string
	for _, u := range uses {
		d := s.deadlineMillis(u.ExpiresAt)
		prev, seen := latest[u.ID]
		if !seen {
			order = append(order, u.ID)
		}
		if !seen || d > prev {
			latest[u.ID] = d
		}
	}
	ids := make([]call, len(order))
	index := make(map[string]int, len(order))
	for i, id := range order {
		ids[i] = call{touchIDScript, []string{s.idKey(id)}, []any{formatDeadline(latest[id])}}
		index[id] = i
	}
	found, err := s.evalAll(ctx, ids)
	if err != nil {
		return err
	}
	touches := make([]call, 0, len(uses))
	for _, u := range uses {
		h, err := found[index[u.ID]].Text()
		if err != nil {
			continue // redis.Nil: gone
		}
		touches = append(touches, call{touchScript, []string{s.tokenKey(h)},
			[]any{u.ID, encodeTime(u.LastUsed), encodeTime(u.ExpiresAt), s.retentionText}})
	}
	_, err = s.evalAll(ctx, touches)
	return err
}
