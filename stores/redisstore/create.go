package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// createIDScript stores a token's ID key unless the ID is taken.
// KEYS: id. ARGV: the digest in hex, the key's deadline in Unix
// milliseconds (empty for none).
var createIDScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1
`)

// createTokenScript stores a token unless its digest is taken.
// KEYS: token. ARGV: the record's hash fields in order, the key's deadline
// in Unix milliseconds (empty for none), then the policy's fields that are
// set, as field and value pairs.
var createTokenScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local f = {'id', ARGV[1], 'user', ARGV[2], 'name', ARGV[3], 'scopes', ARGV[4],
  'created', ARGV[5], 'expires', ARGV[6], 'last_used', ARGV[7], 'max_expires', ARGV[8]}
for i = 10, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(f))
if ARGV[9] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[9]) end
return 1
`)

// pruneMargin is how long past its bound an index entry is kept: Redis
// nodes' clocks differ, and the index may live on another node than the
// token.
const pruneMargin = "60000"

// pruneIndex drops the index entries whose tokens cannot exist any more,
// and makes the index expire with its last token. ZSET scores hold Unix
// milliseconds exactly (below 2^53).
const pruneIndex = `
local function pruneIndex(key, margin)
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%.0f', now - margin))
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then return end
  local bound = tonumber(top[2])
  if bound == math.huge then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIREAT', key, string.format('%.0f', bound + margin))
  end
end
`

// indexScript adds a stored token to its user's index, unless it was
// created before the user's cut-off (0). Reading the cut-off and adding
// to the index are one step: a DeleteUser, which raises the one and then
// reads the other in one step too, runs wholly before or after it.
// KEYS: index, cut-off. ARGV: created (Unix microseconds), the entry, its
// bound (Unix milliseconds or +inf), the prune margin.
var indexScript = redis.NewScript(pruneIndex + `
local cut = redis.call('GET', KEYS[2])
if cut and (ARGV[1] == '' or tonumber(ARGV[1]) < tonumber(cut)) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
pruneIndex(KEYS[1], tonumber(ARGV[4]))
return 1
`)

// undoTimeout bounds the clean-up of a Create that failed half-way, which
// runs even when the caller has gone.
const undoTimeout = 5 * time.Second

// Create stores t. It returns tokenauth.ErrExists if a token with the
// same ID or digest is stored, and tokenauth.ErrRevoked, storing nothing,
// if t was created before its user's cut-off (see DeleteUser).
//
// Two round trips: the token and its ID key (on a cluster, each in its
// own slot), then the user's index, with the cut-off read in the same
// script. The order is what keeps DeleteUser final: the token exists
// before the cut-off is read, so either DeleteUser raised it first and
// Create refuses (and deletes what it wrote), or Create indexed the token
// first and DeleteUser, reading the index after raising the cut-off,
// finds and deletes it. Until Create returns, its token may be found but
// its key has not been handed out.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	switch {
	case t == nil:
		return errors.New("redisstore: create: nil token")
	case t.ID == "" || t.UserID == "" || len(t.Digest) == 0:
		return errors.New("redisstore: create: token needs an ID, a user ID and a digest")
	}
	scopes, err := encodeScopes(t.Scopes)
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	policy, err := encodePolicy(t)
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	h := hexDigest(t.Digest)
	deadline := s.deadline(t.ExpiresAt)
	cmds, err := s.evalAll(ctx, []call{
		{createIDScript, []string{s.idKey(t.ID)}, []any{h, deadline}},
		{createTokenScript, []string{s.tokenKey(h)}, append([]any{t.ID, t.UserID, t.Name, scopes, encodeTime(t.CreatedAt),
			encodeTime(t.ExpiresAt), encodeTime(t.LastUsedAt), encodeTime(t.MaxExpiresAt), deadline}, policy...)},
	})
	idStored, tokenStored := cmds[0].Err() == nil && cmds[0].Val() == int64(1), cmds[1].Err() == nil && cmds[1].Val() == int64(1)
	if err != nil || !idStored || !tokenStored {
		s.undoCreate(ctx, t.ID, h, idStored, tokenStored)
		if err != nil {
			return fmt.Errorf("redisstore: create: %w", err)
		}
		return tokenauth.ErrExists
	}
	indexed, err := indexScript.Run(ctx, s.client, []string{s.userKey(t.UserID), s.cutOffKey(t.UserID)},
		encodeTime(t.CreatedAt), indexEntry(h, t.ID), s.bound(t), pruneMargin).Int()
	if err != nil || indexed == 0 {
		// Whether or not the script ran, the token goes: an index entry
		// left behind names no token, and is dropped by List.
		undoErr := s.undoCreate(ctx, t.ID, h, true, true)
		switch {
		case err != nil:
			return fmt.Errorf("redisstore: create: %w", err)
		case undoErr != nil:
			// Refused, but the token may still be stored: say it failed.
			return fmt.Errorf("redisstore: create: removing a token refused by its user's cut-off: %w", undoErr)
		}
		return tokenauth.ErrRevoked
	}
	return nil
}

// undoCreate deletes what a failed Create stored, even if ctx has ended.
// The token goes through deleteScript, which publishes its deletion: an
// imported key may have been presented, and cached, meanwhile.
func (s *Store) undoCreate(ctx context.Context, id, hexDigest string, idStored, tokenStored bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	var err error
	if tokenStored {
		if err = deleteScript.Run(ctx, s.client, []string{s.tokenKey(hexDigest)}, s.prefix, id).Err(); errors.Is(err, redis.Nil) {
			err = nil
		}
	}
	if idStored {
		err = errors.Join(err, s.client.Del(ctx, s.idKey(id)).Err())
	}
	return err
}
