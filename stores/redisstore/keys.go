package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// The key layout, under the prefix P (Options.Prefix):
//
//	P t:<digest in hex>  hash    the token: id, user, name, scopes, created,
//	                             expires, last_used, max_expires, and the
//	                             policy's fields that are set (policy.go)
//	P id:<token ID>      string  the digest in hex
//	P u:{<user ID>}      zset    the user's index: "<digest in hex>:<token ID>",
//	                             scored by the latest time the token can exist
//	P c:{<user ID>}      string  the user's cut-off (Unix microseconds)
//	P r:<key>            string  a rate counter of CountRate, for one window
//	P events             channel revocations, as they happen
//
// On Redis Cluster each token key and each ID key hashes on its own, so
// tokens spread over every slot and node; Find, which knows only the
// digest, reads one key. A user's two keys share the user ID as hash tag,
// so that what must be atomic for one user (reading the cut-off with
// adding to the index, raising it with reading the index) is one script
// in one slot. Nothing else is atomic across keys: see Create and
// DeleteUser for the order that keeps revocation final.

// tokenKey is the key of the token whose digest is hexDigest.
func (s *Store) tokenKey(hexDigest string) string { return s.prefix + "t:" + hexDigest }

func (s *Store) idKey(id string) string { return s.prefix + "id:" + id }

// digestOf returns the digest, in hex, of the token with the given ID, as
// its ID key holds it, or tokenauth.ErrNotFound.
func (s *Store) digestOf(ctx context.Context, id string) (string, error) {
	h, err := s.client.Get(ctx, s.idKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", tokenauth.ErrNotFound
	}
	return h, err
}

func (s *Store) userKey(userID string) string   { return s.prefix + "u:{" + hashTag(userID) + "}" }
func (s *Store) cutOffKey(userID string) string { return s.prefix + "c:{" + hashTag(userID) + "}" }

// channel is the pub/sub channel of the store's events. It shares the
// keys' prefix, so that stores under different prefixes do not hear each
// other.
func (s *Store) channel() string { return s.prefix + "events" }

// hashTag writes a user ID as the content of a hash tag: Redis hashes the
// text between the first '{' and the next '}', if there is any, so '}' is
// escaped (and '%', the escape, with it) and an empty ID is written "%",
// which no escaped ID is. Distinct IDs give distinct tags.
func hashTag(userID string) string {
	if userID == "" {
		return "%"
	}
	if !strings.ContainsAny(userID, "%}") {
		return userID
	}
	return strings.NewReplacer("%", "%25", "}", "%7D").Replace(userID)
}

// indexEntry is a token's member in its user's index.
func indexEntry(hexDigest, id string) string { return hexDigest + ":" + id }

// splitIndexEntry reads indexEntry's output: hex digits hold no colon.
func splitIndexEntry(entry string) (hexDigest, id string, ok bool) {
	hexDigest, id, ok = strings.Cut(entry, ":")
	return hexDigest, id, ok && hexDigest != ""
}

func hexDigest(digest []byte) string { return hex.EncodeToString(digest) }

// checkPrefix refuses a prefix with a '{' that opens no hash tag: Redis
// would read one from the user key's own braces onwards, and a user's two
// keys could land in different slots. A prefix that holds a tag puts the
// whole store in that tag's one slot, as before v0.1.0.
func checkPrefix(prefix string) error {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return nil
	}
	if j := strings.IndexByte(prefix[i+1:], '}'); j > 0 {
		return nil
	}
	return invalid("Prefix " + `"` + prefix + `"` + " holds a '{' that opens no hash tag: leave braces out, " +
		"so that tokens spread over a cluster's slots, or write a whole tag (\"app:{tokens}:\") to keep the store in one slot")
}
