// Package redisstore is a tokenauth.Store on Redis, for services whose
// replicas share a Redis deployment: a single server, Sentinel or Cluster,
// through any redis.UniversalClient.
//
// Tokens expire natively: Redis deletes each token Options.Retention after
// its expiry, so no clean-up job is needed. Every change that touches more
// than one key (create, delete, revoke-all, touch, expire) is one Lua
// script: one round trip, applied atomically. Find, the hot path, is one
// HMGET.
//
// The Store is a tokenauth.Watcher: every revocation and early expiry is
// published on a Redis pub/sub channel by the script that makes it, so a
// cachestore in front of the store on each replica drops the token at
// once rather than after its TTL.
//
// All keys of a Store share one Redis Cluster hash tag, so that those
// scripts work on a cluster: the whole store lives in one hash slot, on
// one primary (and its replicas). See the README for the key layout.
//
// Create the client with ContextTimeoutEnabled: true. Without it go-redis
// ignores context deadlines, so tokenauth.Options.StoreTimeout has no
// effect and a request waits out go-redis's own timeouts and retries
// during an outage.
package redisstore

import (
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
	// applications) can share a Redis database. Unless it already holds a
	// Redis Cluster hash tag ("{...}"), it is wrapped in one: the default
	// "tokenauth:" gives keys starting "{tokenauth:}". Default
	// DefaultPrefix.
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
	prefix string // with its hash tag
	// retention is Options.Retention in whole milliseconds, rounded up
	// (Redis deadlines are milliseconds), and as text for touchScript.
	retention     int64
	retentionText string
	// watchPing is how long Watch waits for a message before it pings
	// the server, and then for the answer.
	watchPing time.Duration
}

var (
	_ tokenauth.Store        = (*Store)(nil)
	_ tokenauth.Watcher      = (*Store)(nil)
	_ tokenauth.Expirer      = (*Store)(nil)
	_ tokenauth.BatchToucher = (*Store)(nil)
)

// New returns a Store that keeps tokens through client. It returns an
// error wrapping tokenauth.ErrInvalidOptions when client is nil.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: redisstore: client is nil", tokenauth.ErrInvalidOptions)
	}
	s := &Store{client: client, prefix: withHashTag(opts.Prefix), watchPing: defaultWatchPing}
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

// withHashTag returns prefix (or DefaultPrefix) wrapped in a hash tag
// unless it already holds one. Redis hashes only the part between the
// first '{' and the next '}', when that part is not empty.
func withHashTag(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if i := strings.IndexByte(prefix, '{'); i >= 0 && strings.IndexByte(prefix[i+1:], '}') > 0 {
		return prefix
	}
	return "{" + prefix + "}"
}

// Key layout; the scripts build the same names from the prefix.
func (s *Store) tokenKey(digest []byte) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + 2 + hex.EncodedLen(len(digest)))
	b.WriteString(s.prefix)
	b.WriteString("t:")
	const digits = "0123456789abcdef"
	for _, c := range digest {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0x0f])
	}
	return b.String()
}

func (s *Store) idKey(id string) string       { return s.prefix + "id:" + id }
func (s *Store) userKey(userID string) string { return s.prefix + "u:" + userID }

// fields are the token hash's fields, in the order Find and List read them.
var fields = []string{"id", "user", "name", "scopes", "created", "expires", "last_used", "max_expires"}

// findArgs is Find's command with the key left out. Its strings are boxed
// once here rather than on every call: Find is the hot path.
var findArgs = func() []any {
	args := []any{"hmget", nil}
	for _, f := range fields {
		args = append(args, f)
	}
	return args
}()

// setUserExpiry makes a user's set of token IDs outlive its longest-lived
// token, so that the set of a user whose tokens have all expired goes too.
// ttl is the set's PTTL before the change: -2 missing, -1 no expiry.
const setUserExpiry = `
local function expireUserSet(key, ttl, deadline)
  if ttl == -1 then return end
  if ttl >= 0 then
    local t = redis.call('TIME')
    if tonumber(deadline) - (t[1] * 1000 + math.floor(t[2] / 1000)) <= ttl then return end
  end
  redis.call('PEXPIREAT', key, deadline)
end
`

// createScript stores a token unless its ID or digest is taken.
// KEYS: token, id, user. ARGV: the hash fields in order, the digest in
// hex, and the keys' deadline in Unix milliseconds (empty for none).
var createScript = redis.NewScript(setUserExpiry + `
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'user', ARGV[2], 'name', ARGV[3], 'scopes', ARGV[4],
  'created', ARGV[5], 'expires', ARGV[6], 'last_used', ARGV[7], 'max_expires', ARGV[8])
redis.call('SET', KEYS[2], ARGV[9])
local ttl = redis.call('PTTL', KEYS[3])
redis.call('SADD', KEYS[3], ARGV[1])
local deadline = ARGV[10]
if deadline == '' then
  redis.call('PERSIST', KEYS[3])
else
  redis.call('PEXPIREAT', KEYS[1], deadline)
  redis.call('PEXPIREAT', KEYS[2], deadline)
  expireUserSet(KEYS[3], ttl, deadline)
end
return 1
`)

// deleteScript deletes one token and publishes the change. KEYS: id.
// ARGV: prefix, id.
var deleteScript = redis.NewScript(publishChanged + `
local digest = redis.call('GET', KEYS[1])
if not digest then return 0 end
redis.call('DEL', KEYS[1])
local tk = ARGV[1] .. 't:' .. digest
local user = redis.call('HGET', tk, 'user')
if not user then return 0 end
redis.call('DEL', tk)
redis.call('SREM', ARGV[1] .. 'u:' .. user, ARGV[2])
changed(ARGV[1], ARGV[2], user)
return 1
`)

// deleteUserScript deletes every token of a user, publishing each, and
// returns how many there were. KEYS: user. ARGV: prefix, user ID.
var deleteUserScript = redis.NewScript(publishChanged + `
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ik = ARGV[1] .. 'id:' .. id
  local digest = redis.call('GET', ik)
  if digest then
    if redis.call('DEL', ARGV[1] .. 't:' .. digest) == 1 then
      n = n + 1
      changed(ARGV[1], id, ARGV[2])
    end
    redis.call('DEL', ik)
  end
end
redis.call('DEL', KEYS[1])
return n
`)

// listScript returns a user's tokens as flat groups of the digest in hex
// and the hash fields, and drops the IDs of tokens Redis has expired.
// KEYS: user. ARGV: prefix.
var listScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local digest = redis.call('GET', ARGV[1] .. 'id:' .. id)
  local f = digest and redis.call('HMGET', ARGV[1] .. 't:' .. digest,
    'id', 'user', 'name', 'scopes', 'created', 'expires', 'last_used', 'max_expires')
  if f and f[1] then
    out[#out + 1] = digest
    for i = 1, 8 do out[#out + 1] = f[i] or '' end
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
`)

// touchScript records a use of a token that still exists; neither value
// moves backwards, and expires never moves past max_expires (absent in
// records stored before it existed). The keys' deadline is worked out
// here, from the expiry once capped, as deadline does.
// KEYS: id. ARGV: prefix, last_used, expires (empty for none), and the
// retention in milliseconds.
var touchScript = redis.NewScript(setUserExpiry + `
local digest = redis.call('GET', KEYS[1])
if not digest then return 0 end
local tk = ARGV[1] .. 't:' .. digest
local cur = redis.call('HMGET', tk, 'user', 'last_used', 'expires', 'max_expires')
if not cur[1] then return 0 end
if ARGV[2] ~= '' and (cur[2] == '' or tonumber(cur[2]) < tonumber(ARGV[2])) then
  redis.call('HSET', tk, 'last_used', ARGV[2])
end
local exp = ARGV[3]
if exp ~= '' and cur[4] and cur[4] ~= '' and tonumber(cur[4]) < tonumber(exp) then exp = cur[4] end
if cur[3] ~= '' and exp ~= '' and tonumber(cur[3]) < tonumber(exp) then
  redis.call('HSET', tk, 'expires', exp)
  local deadline = string.format('%.0f', math.max(math.ceil(tonumber(exp) / 1000) + tonumber(ARGV[4]), 1))
  redis.call('PEXPIREAT', tk, deadline)
  redis.call('PEXPIREAT', KEYS[1], deadline)
  local uk = ARGV[1] .. 'u:' .. cur[1]
  local ttl = redis.call('PTTL', uk)
  if ttl ~= -2 then expireUserSet(uk, ttl, deadline) end
end
return 1
`)

// Create stores t. It returns tokenauth.ErrExists if a token with the
// same ID or digest is stored.
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
	keys := []string{s.tokenKey(t.Digest), s.idKey(t.ID), s.userKey(t.UserID)}
	created, err := createScript.Run(ctx, s.client, keys,
		t.ID, t.UserID, t.Name, scopes, encodeTime(t.CreatedAt), encodeTime(t.ExpiresAt), encodeTime(t.LastUsedAt),
		encodeTime(t.MaxExpiresAt), hex.EncodeToString(t.Digest), s.deadline(t.ExpiresAt)).Int()
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	if created == 0 {
		return tokenauth.ErrExists
	}
	return nil
}

// Find returns the token with the given digest, or tokenauth.ErrNotFound.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if len(digest) == 0 {
		return nil, tokenauth.ErrNotFound
	}
	args := slices.Clone(findArgs)
	args[1] = s.tokenKey(digest)
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

// Delete removes the token with the given ID, or returns
// tokenauth.ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) error {
	deleted, err := deleteScript.Run(ctx, s.client, []string{s.idKey(id)}, s.prefix, id).Int()
	if err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if deleted == 0 {
		return tokenauth.ErrNotFound
	}
	return nil
}

// DeleteUser removes every token of the user, in one atomic step.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := deleteUserScript.Run(ctx, s.client, []string{s.userKey(userID)}, s.prefix, userID).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user: %w", err)
	}
	return n, nil
}

// List returns the user's tokens, oldest first.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	vals, err := listScript.Run(ctx, s.client, []string{s.userKey(userID)}, s.prefix).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list: %w", err)
	}
	group := 1 + len(fields) // the digest, then the fields
	if len(vals)%group != 0 {
		return nil, errors.New("redisstore: list: malformed reply")
	}
	out := make([]*tokenauth.Token, 0, len(vals)/group)
	for i := 0; i < len(vals); i += group {
		hexDigest, _ := vals[i].(string)
		digest, err := hex.DecodeString(hexDigest)
		if err != nil {
			return nil, errors.New("redisstore: list: malformed token key")
		}
		t, err := decodeToken(vals[i+1 : i+group])
		if err != nil {
			return nil, fmt.Errorf("redisstore: list: %w", err)
		}
		t.Digest = digest
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tokenauth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Touch records a use of the token, moving its Redis expiry with its
// ExpiresAt, which never moves past the stored MaxExpiresAt. It never
// recreates a deleted token, so a revocation racing with a request always
// wins.
func (s *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	touched, err := touchScript.Run(ctx, s.client, []string{s.idKey(id)},
		s.prefix, encodeTime(lastUsed), encodeTime(expiresAt), s.retentionText).Int()
	if err != nil {
		return fmt.Errorf("redisstore: touch: %w", err)
	}
	if touched == 0 {
		return tokenauth.ErrNotFound
	}
	return nil
}

// touchBatchSize bounds the commands of one pipeline, and so the memory
// a batch holds at once.
const touchBatchSize = 512

// TouchBatch records many uses, as Touch does each, in one pipeline per
// touchBatchSize uses. Tokens that are gone are skipped.
func (s *Store) TouchBatch(ctx context.Context, uses []tokenauth.TokenUse) error {
	for len(uses) > 0 {
		n := min(len(uses), touchBatchSize)
		if err := s.touchPipeline(ctx, uses[:n]); err != nil {
			return fmt.Errorf("redisstore: touch batch: %w", err)
		}
		uses = uses[n:]
	}
	return nil
}

// touchPipeline runs touchScript for each use in one round trip. The
// script is called by its hash; if the server has lost it (a restart,
// SCRIPT FLUSH), it is loaded and the whole pipeline sent again, which is
// safe as a touch never moves a value backwards.
func (s *Store) touchPipeline(ctx context.Context, uses []tokenauth.TokenUse) error {
	for attempt := 0; ; attempt++ {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.Cmd, len(uses))
		for i, u := range uses {
			cmds[i] = touchScript.EvalSha(ctx, pipe, []string{s.idKey(u.ID)},
				s.prefix, encodeTime(u.LastUsed), encodeTime(u.ExpiresAt), s.retentionText)
		}
		_, err := pipe.Exec(ctx)
		if err == nil {
			return nil
		}
		if attempt > 0 || !slices.ContainsFunc(cmds, func(c *redis.Cmd) bool { return redis.HasErrorPrefix(c.Err(), "NOSCRIPT") }) {
			return err
		}
		if err := touchScript.Load(ctx, s.client).Err(); err != nil {
			return err
		}
	}
}

// deadline returns when Redis is to delete a token that expires at
// expires, in Unix milliseconds ("" for never): the expiry in whole
// milliseconds rounded up, plus the retention, as touchScript computes it.
func (s *Store) deadline(expires time.Time) string {
	if expires.IsZero() {
		return ""
	}
	us := expires.UnixMicro()
	ms := us / 1000
	if us%1000 > 0 {
		ms++
	}
	// PEXPIREAT wants a positive time; so early a deadline is long past
	// either way.
	return strconv.FormatInt(max(ms+s.retention, 1), 10)
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

// decodeToken builds a token from the hash fields, in the order of fields.
func decodeToken(vals []any) (*tokenauth.Token, error) {
	if len(vals) != len(fields) {
		return nil, errors.New("malformed token record")
	}
	var f [8]string
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
	return t, nil
}
