// Package redisstore is a tokenauth.Store on Redis, for services whose
// replicas share a Redis deployment: one server, Sentinel or Cluster.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{
//		Addrs:                 addrs, // several: a cluster
//		ContextTimeoutEnabled: true,  // required: New refuses a client without it
//	})
//	store, err := redisstore.New(client, redisstore.Options{})
//
// Find, the hot path, reads one key: one round trip. Tokens expire
// natively: Redis deletes each one Options.Retention after its expiry, so
// no clean-up job is needed.
//
// On Redis Cluster, tokens spread over every slot (and so every node): a
// cluster adds room as well as availability. Each token is keyed by its
// digest, and found by ID through a key of its own; what must be atomic
// for one user (the index of its tokens, and the cut-off DeleteUser
// leaves) shares the user's hash tag and changes in one Lua script.
// Revocation stays final across slots by ordering: Create writes the
// token before it reads the cut-off; DeleteUser raises the cut-off before
// it reads what to delete. See the README for the key layout.
//
// The Store is a cachestore.Watcher: every revocation and early expiry is
// published on a Redis pub/sub channel by the script that makes it, so a
// cachestore in front of the store on each replica drops the token at
// once rather than after its TTL.
//
// CountRate counts calls in Redis for per-token rate limits
// (tokenauth.Options.RateCounter), so that every replica shares one
// count.
//
// New refuses a client that ignores context deadlines (without
// ContextTimeoutEnabled tokenauth.Options.StoreTimeout would do nothing,
// and a request would wait out go-redis's own timeouts and retries during
// an outage), a cluster client that reads from replicas, client-side
// caching and Ring: each would let a revoked token be found again.
package redisstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "tokenauth:"

// DefaultRetention is how long an expired token is kept when
// Options.Retention is zero.
const DefaultRetention = 24 * time.Hour

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// Prefix starts every key of the store, so that several stores (or
	// applications) can share a Redis deployment. A prefix that holds a
	// Redis Cluster hash tag ("app:{tokens}:") puts the whole store in
	// that tag's one slot; without one, tokens spread over the cluster.
	// Default DefaultPrefix.
	Prefix string

	// Retention is how long a token is kept after it expires before Redis
	// deletes it. Meanwhile a client presenting it is told "Token has
	// expired." rather than "Invalid token.", and List still shows it.
	// Default DefaultRetention (24 hours); a negative value deletes tokens
	// as soon as they expire.
	Retention time.Duration
}

// Store is a tokenauth.Store on Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	prefix string
	// retention is Options.Retention in whole milliseconds, rounded up
	// (Redis deadlines are milliseconds), and as text for the scripts.
	retention     int64
	retentionText string
	// watchPing is how long Watch waits after an answer to ping again,
	// watchTimeout how long it waits for the answer.
	watchPing, watchTimeout time.Duration
}

var (
	_ tokenauth.Store    = (*Store)(nil)
	_ cachestore.Watcher = (*Store)(nil)
)

// New returns a Store that keeps tokens through client, a *redis.Client
// or *redis.ClusterClient created with ContextTimeoutEnabled. It returns
// an error wrapping tokenauth.ErrInvalidOptions, which says what to
// change, for a client that would weaken the store: one that ignores
// context deadlines, reads from replicas or caches replies, or a Ring;
// and for a Prefix with a '{' that opens no hash tag.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if err := checkClient(client); err != nil {
		return nil, err
	}
	prefix := cmp.Or(opts.Prefix, DefaultPrefix)
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	s := &Store{client: client, prefix: prefix, watchPing: defaultWatchPing, watchTimeout: defaultWatchTimeout}
	retention := opts.Retention
	switch {
	case retention == 0:
		retention = DefaultRetention
	case retention < 0:
		retention = 0
	}
	s.retention = retention.Milliseconds()
	if retention%time.Millisecond != 0 {
		s.retention++
	}
	s.retentionText = strconv.FormatInt(s.retention, 10)
	return s, nil
}

// fields are the token hash's fields, in the order Find and List read them:
// the record's, then the policy's.
var fields = append([]string{"id", "user", "name", "scopes", "created", "expires", "last_used", "max_expires"}, policyFields[:]...)

// findArgs is Find's command with the key left out. Its strings are boxed
// once here rather than on every call: Find is the hot path.
var findArgs = func() []any {
	args := []any{"hmget", nil}
	for _, f := range fields {
		args = append(args, f)
	}
	return args
}()

// Find returns the token with the given digest, or tokenauth.ErrNotFound.
// It reads one key: one round trip, on a cluster too.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if len(digest) == 0 {
		return nil, tokenauth.ErrNotFound
	}
	args := slices.Clone(findArgs)
	args[1] = s.tokenKey(hexDigest(digest))
	vals, err := s.client.Do(ctx, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: find: %w", err)
	}
	if len(vals) == 0 || vals[0] == nil {
		return nil, tokenauth.ErrNotFound
	}
	t, err := decodeToken(vals)
	if err != nil {
		return nil, fmt.Errorf("redisstore: find: %w", err)
	}
	t.Digest = slices.Clone(digest)
	return t, nil
}

// List returns the user's tokens, oldest first: the user's index, then
// each token it names, in one pipeline. Entries whose token is gone
// (expired by Redis, or a Delete that failed half-way) are dropped from
// the index.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	entries, err := s.client.ZRange(ctx, s.userKey(userID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list: %w", err)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(entries))
	for i, e := range entries {
		h, _, _ := splitIndexEntry(e)
		cmds[i] = pipe.HMGet(ctx, s.tokenKey(h), fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redisstore: list: %w", err)
	}
	out := make([]*tokenauth.Token, 0, len(entries))
	var stale []any
	for i, e := range entries {
		h, id, ok := splitIndexEntry(e)
		vals := cmds[i].Val()
		if !ok || len(vals) == 0 || vals[0] == nil {
			stale = append(stale, e)
			continue
		}
		t, err := decodeToken(vals)
		if err != nil {
			return nil, fmt.Errorf("redisstore: list: %w", err)
		}
		if t.ID != id || t.UserID != userID {
			stale = append(stale, e) // not this entry's token: never in practice
			continue
		}
		if t.Digest, err = hex.DecodeString(h); err != nil {
			return nil, errors.New("redisstore: list: malformed index entry")
		}
		out = append(out, t)
	}
	if len(stale) > 0 {
		// Best effort: the next List tries again.
		_ = s.client.ZRem(ctx, s.userKey(userID), stale...).Err()
	}
	slices.SortFunc(out, func(a, b *tokenauth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// deadline returns when Redis is to delete a token that expires at
// expires, in Unix milliseconds ("" for never): the expiry in whole
// milliseconds rounded up, plus the retention, as the scripts compute it.
func (s *Store) deadline(expires time.Time) string {
	return formatDeadline(s.deadlineMillis(expires))
}

// deadlineMillis is deadline as a number, 0 for never.
func (s *Store) deadlineMillis(expires time.Time) int64 {
	if expires.IsZero() {
		return 0
	}
	us := expires.UnixMicro()
	ms := us / 1000
	if us%1000 > 0 {
		ms++
	}
	// PEXPIREAT wants a positive time; so early a deadline is long past
	// either way.
	return max(ms+s.retention, 1)
}

func formatDeadline(ms int64) string {
	if ms == 0 {
		return ""
	}
	return strconv.FormatInt(ms, 10)
}

// bound returns the latest time t can exist, as its index entry's score:
// its deadline at the later of ExpiresAt and MaxExpiresAt, which no Touch
// moves past, or "+inf" for a token that never expires or slides without
// a cap. The index may drop an entry once its bound has passed.
func (s *Store) bound(t *tokenauth.Token) string {
	if t.ExpiresAt.IsZero() || t.MaxExpiresAt.IsZero() {
		return "+inf"
	}
	return s.deadline(maxTime(t.ExpiresAt, t.MaxExpiresAt))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// encodeTime writes t as Unix microseconds, the zero time as "".
func encodeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us).UTC(), nil
}

// encodeScopes writes scopes as a JSON array of strings, which holds any
// scope and reads well in redis-cli.
func encodeScopes(scopes []string) (string, error) {
	if len(scopes) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(scopes)
	return string(b), err
}

// decodeScopes reads encodeScopes' output. The common case, no escapes,
// is split in place; anything else goes through encoding/json.
func decodeScopes(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	if len(s) >= 4 && strings.HasPrefix(s, `["`) && strings.HasSuffix(s, `"]`) && !strings.ContainsRune(s, '\\') {
		// Without escapes a JSON string cannot hold a quote, so `","`
		// separates the elements exactly.
		return strings.Split(s[2:len(s)-2], `","`), nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeToken builds a token from the hash fields, in the order of fields;
// absent ones (nil) are unset.
func decodeToken(vals []any) (*tokenauth.Token, error) {
	if len(vals) != len(fields) {
		return nil, errors.New("malformed token record")
	}
	var f [numRecordFields + len(policyFields)]string
	for i := range f {
		f[i], _ = vals[i].(string)
	}
	t := &tokenauth.Token{ID: f[0], UserID: f[1], Name: f[2]}
	var err error
	if t.Scopes, err = decodeScopes(f[3]); err != nil {
		return nil, errors.New("malformed token record: scopes")
	}
	for i, dst := range []*time.Time{&t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.MaxExpiresAt} {
		if *dst, err = decodeTime(f[4+i]); err != nil {
			return nil, fmt.Errorf("malformed token record: %s", fields[4+i])
		}
	}
	if err := decodePolicy(t, f[numRecordFields:]); err != nil {
		return nil, err
	}
	return t, nil
}
