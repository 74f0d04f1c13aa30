package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// deleteScript deletes a token, publishes its deletion and returns its
// user ID, or false if there is no such token. Deleting the token key is
// what revokes: Find reads nothing else.
// KEYS: token. ARGV: prefix, token ID.
var deleteScript = redis.NewScript(publishChanged + `
local cur = redis.call('HMGET', KEYS[1], 'id', 'user')
if cur[1] ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
changed(ARGV[1], ARGV[2], cur[2])
return cur[2]
`)

// cutOffScript raises a user's cut-off (it never moves back) and returns
// the user's index, in one step: a Create indexes its token either before,
// and is listed here, or after, and reads the raised cut-off.
// KEYS: index, cut-off. ARGV: the cut-off (Unix microseconds; empty for
// none), the prune margin.
var cutOffScript = redis.NewScript(pruneIndex + `
if ARGV[1] ~= '' then
  local cut = redis.call('GET', KEYS[2])
  if not cut or tonumber(cut) < tonumber(ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1]) end
end
pruneIndex(KEYS[1], tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// Delete removes the token with the given ID, or returns
// tokenauth.ErrNotFound: its ID key gives its digest, then the token is
// deleted (which revokes it and publishes the change), then its index
// entry and ID key. If that last step fails the token is revoked all the
// same, and Delete reports success: List drops the index entry, and a
// Delete of the ID the key.
func (s *Store) Delete(ctx context.Context, id string) error {
	h, err := s.digestOf(ctx, id)
	if err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	user, err := deleteScript.Run(ctx, s.client, []string{s.tokenKey(h)}, s.prefix, id).Text()
	switch {
	case errors.Is(err, redis.Nil):
		_ = s.client.Del(ctx, s.idKey(id)).Err() // names a token gone already
		return tokenauth.ErrNotFound
	case err != nil:
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	pipe := s.client.Pipeline()
	pipe.ZRem(ctx, s.userKey(user), indexEntry(h, id))
	pipe.Del(ctx, s.idKey(id))
	_, _ = pipe.Exec(ctx)
	return nil
}

// deleteUserRounds bounds DeleteUser's rounds: each beyond the second
// means another token of the user was indexed meanwhile.
const deleteUserRounds = 50

// DeleteUser raises the user's cut-off to before, so that Create refuses
// the user's tokens created earlier, and removes every token of the user
// but those in keep; it returns how many it removed.
//
// The cut-off is raised and the index read in one script in the user's
// slot; then the tokens named are deleted (each publishing its deletion)
// and their index entries and ID keys removed, in one pipeline each; then
// the index is read again, until it names no token to delete. Tokens live
// in other slots than the index, so no one step deletes them all, and
// this is what keeps the revocation final:
//
//   - A Create that raced it either indexed its token before the first
//     read, and the token is deleted here, or reads the raised cut-off
//     after it and refuses a token created before.
//   - A token created after the cut-off survives only if it was indexed
//     after the last read, which found no other token of the user (but
//     those kept): a Rotate (or anything else) that must delete an older
//     token after creating a new one finds it gone, and undoes.
//
// An index entry is only removed once its token is gone, so a failure
// part-way leaves the index naming what is left, for a retry.
func (s *Store) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("redisstore: delete user: %w", err) }
	keys := []string{s.userKey(userID), s.cutOffKey(userID)}
	cut := encodeTime(before)
	n := 0
	for round := 0; ; round++ {
		entries, err := cutOffScript.Run(ctx, s.client, keys, cut, pruneMargin).StringSlice()
		if err != nil {
			return fail(err)
		}
		cut = "" // raised once; the later rounds only read
		var calls []call
		var gone []any // entries whose tokens are deleted now, or were
		var ids []string
		for _, e := range entries {
			h, id, ok := splitIndexEntry(e)
			switch {
			case !ok:
				gone = append(gone, e)
			case !slices.Contains(keep, id):
				calls = append(calls, call{deleteScript, []string{s.tokenKey(h)}, []any{s.prefix, id}})
				gone = append(gone, e)
				ids = append(ids, id)
			}
		}
		if len(gone) == 0 {
			return n, nil
		}
		if round == deleteUserRounds {
			return fail(errors.New("the user's tokens kept being created while they were deleted"))
		}
		cmds, err := s.evalAll(ctx, calls)
		if err != nil {
			return fail(err)
		}
		for _, c := range cmds {
			if c.Err() == nil {
				n++
			}
		}
		pipe := s.client.Pipeline()
		pipe.ZRem(ctx, keys[0], gone...)
		for _, id := range ids {
			pipe.Del(ctx, s.idKey(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fail(err)
		}
	}
}
