package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

const addrEnv = "TOKENAUTH_TEST_REDIS_ADDR"

// testClient connects to the Redis named by TOKENAUTH_TEST_REDIS_ADDR, or
// skips the test when it is unset. Several comma-separated addresses name
// the nodes of a Redis Cluster.
func testClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	addrs := os.Getenv(addrEnv)
	if addrs == "" {
		t.Skip(addrEnv + " is not set; set it to a Redis address (e.g. 127.0.0.1:6379) to run the Redis tests")
	}
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err(), "Redis at %s=%s", addrEnv, addrs)
	return c
}

// testAddr returns the address of the test server (the first node of a
// cluster), or skips the test.
func testAddr(t testing.TB) string {
	t.Helper()
	testClient(t)
	return strings.Split(os.Getenv(addrEnv), ",")[0]
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanUp deletes every key under prefix when the test ends. The keys
// share a hash slot, so one DEL takes them all, on a cluster too.
func cleanUp(t testing.TB, c redis.UniversalClient, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		del := func(ctx context.Context, node redis.UniversalClient) error {
			var keys []string
			it := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				keys = append(keys, it.Val())
			}
			if err := it.Err(); err != nil || len(keys) == 0 {
				return err
			}
			return node.Del(ctx, keys...).Err()
		}
		var err error
		if cluster, ok := c.(*redis.ClusterClient); ok {
			err = cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return del(ctx, node) })
		} else {
			err = del(ctx, c)
		}
		if err != nil {
			t.Errorf("deleting the test's keys: %v", err)
		}
	})
}

// testPrefix returns a key prefix of its own for the test, with a hash
// tag, and deletes its keys when the test ends.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	p := "{tokenauthtest:" + randomHex(t, 8) + "}:"
	cleanUp(t, c, p)
	return p
}

// newTestStore returns a Store under a fresh prefix, the client, and the
// prefix. opts.Prefix is replaced.
func newTestStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, redis.UniversalClient, string) {
	t.Helper()
	c := testClient(t)
	opts.Prefix = testPrefix(t, c)
	s, err := redisstore.New(c, opts)
	require.NoError(t, err)
	return s, c, opts.Prefix
}

func newToken(t testing.TB, userID string) *tokenauth.Token {
	t.Helper()
	id := randomHex(t, 16)
	digest := make([]byte, 32)
	_, _ = rand.Read(digest)
	return &tokenauth.Token{
		ID:        id,
		UserID:    userID,
		Name:      "laptop",
		Scopes:    []string{"read", "write"},
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		Digest:    digest,
	}
}

func TestNewNilClient(t *testing.T) {
	s, err := redisstore.New(nil, redisstore.Options{})
	require.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	assert.Nil(t, s)
}

func TestStoreSuite(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
		// The suite's tokens expire on fixed dates that may lie long in
		// the past, and it expects them back: keep expired tokens far
		// longer than in production. TestExpiry covers Redis' own expiry.
		s, _, _ := newTestStore(t, redisstore.Options{Retention: 100 * 365 * 24 * time.Hour})
		return s
	})
}

func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	run := randomHex(t, 8)
	tests := []struct {
		name, prefix, keyPrefix string
	}{
		{"prefix wrapped in a hash tag", "tl" + run + ":", "{tl" + run + ":}"},
		{"prefix with a hash tag kept", "tl:{" + run + "}:", "tl:{" + run + "}:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanUp(t, c, tc.keyPrefix)
			s, err := redisstore.New(c, redisstore.Options{Prefix: tc.prefix})
			require.NoError(t, err)
			tok := newToken(t, "user:1")
			tok.Scopes = []string{"read", `say "hi"`}
			tok.ExpiresAt = tok.CreatedAt.Add(time.Hour)
			tok.MaxExpiresAt = tok.CreatedAt.Add(24 * time.Hour)
			require.NoError(t, s.Create(ctx, tok.Clone()))

			hexDigest := hex.EncodeToString(tok.Digest)
			fields, err := c.HGetAll(ctx, tc.keyPrefix+"t:"+hexDigest).Result()
			require.NoError(t, err)
			assert.Equal(t, map[string]string{
				"id":          tok.ID,
				"user":        "user:1",
				"name":        "laptop",
				"scopes":      `["read","say \"hi\""]`,
				"created":     encodeMicros(tok.CreatedAt),
				"expires":     encodeMicros(tok.ExpiresAt),
				"last_used":   "",
				"max_expires": encodeMicros(tok.MaxExpiresAt),
			}, fields)
			got, err := c.Get(ctx, tc.keyPrefix+"id:"+tok.ID).Result()
			require.NoError(t, err)
			assert.Equal(t, hexDigest, got)
			ids, err := c.SMembers(ctx, tc.keyPrefix+"u:user:1").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{tok.ID}, ids)
		})
	}
}

func encodeMicros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// pttl returns the key's remaining lifetime: -1 for none, -2 if missing.
func pttl(t *testing.T, c redis.UniversalClient, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), key).Result()
	require.NoError(t, err)
	return d
}

// Redis deletes a token Retention after its expiry, and the keys' TTLs
// follow the token's ExpiresAt through touches.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{})
	approx := func(t *testing.T, want, got time.Duration) {
		t.Helper()
		assert.InDelta(t, want.Seconds(), got.Seconds(), 2, "TTL %s, want about %s", got, want)
	}

	tok := newToken(t, "u1")
	tok.ExpiresAt = time.Now().Add(time.Hour)
	require.NoError(t, s.Create(ctx, tok.Clone()))
	tokenKey, idKey, userKey := p+"t:"+hex.EncodeToString(tok.Digest), p+"id:"+tok.ID, p+"u:u1"
	for _, key := range []string{tokenKey, idKey, userKey} {
		approx(t, time.Hour+redisstore.DefaultRetention, pttl(t, c, key))
	}

	// A touch moves the expiry forward, never back.
	require.NoError(t, s.Touch(ctx, tok.ID, time.Now(), time.Now().Add(2*time.Hour)))
	for _, key := range []string{tokenKey, idKey, userKey} {
		approx(t, 2*time.Hour+redisstore.DefaultRetention, pttl(t, c, key))
	}
	require.NoError(t, s.Touch(ctx, tok.ID, time.Now(), time.Now().Add(time.Minute)))
	approx(t, 2*time.Hour+redisstore.DefaultRetention, pttl(t, c, tokenKey))

	// The user's set lives as long as the longest-lived token, and for
	// ever once it holds one that never expires.
	short := newToken(t, "u1")
	short.ExpiresAt = time.Now().Add(time.Minute)
	require.NoError(t, s.Create(ctx, short.Clone()))
	approx(t, 2*time.Hour+redisstore.DefaultRetention, pttl(t, c, userKey))
	forever := newToken(t, "u1")
	require.NoError(t, s.Create(ctx, forever.Clone()))
	assert.Equal(t, time.Duration(-1), pttl(t, c, userKey))
	assert.Equal(t, time.Duration(-1), pttl(t, c, p+"t:"+hex.EncodeToString(forever.Digest)))
}

// A touch never moves a token's expiry, nor its keys' expiry, past its
// MaxExpiresAt; a token stored before the field existed has none, and
// still slides.
func TestExpiryCappedAtMaxExpiresAt(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{Retention: time.Hour})
	approx := func(t *testing.T, want, got time.Duration) {
		t.Helper()
		assert.InDelta(t, want.Seconds(), got.Seconds(), 2, "TTL %s, want about %s", got, want)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)

	capped := newToken(t, "u1")
	capped.ExpiresAt = now.Add(time.Hour)
	capped.MaxExpiresAt = now.Add(90 * time.Minute)
	require.NoError(t, s.Create(ctx, capped.Clone()))
	require.NoError(t, s.Touch(ctx, capped.ID, now, now.Add(5*time.Hour)))
	got, err := s.Find(ctx, capped.Digest)
	require.NoError(t, err)
	assert.Equal(t, capped.MaxExpiresAt, got.ExpiresAt, "the expiry stops at the cap")
	tokenKey := p + "t:" + hex.EncodeToString(capped.Digest)
	for _, key := range []string{tokenKey, p + "id:" + capped.ID, p + "u:u1"} {
		approx(t, 90*time.Minute+time.Hour, pttl(t, c, key))
	}

	// A record without the field, as an earlier release stored it.
	old := newToken(t, "u2")
	old.ExpiresAt = now.Add(time.Hour)
	require.NoError(t, s.Create(ctx, old.Clone()))
	oldKey := p + "t:" + hex.EncodeToString(old.Digest)
	require.NoError(t, c.HDel(ctx, oldKey, "max_expires").Err())
	got, err = s.Find(ctx, old.Digest)
	require.NoError(t, err)
	assert.True(t, got.MaxExpiresAt.IsZero())
	require.NoError(t, s.Touch(ctx, old.ID, now, now.Add(5*time.Hour)))
	got, err = s.Find(ctx, old.Digest)
	require.NoError(t, err)
	assert.Equal(t, now.Add(5*time.Hour), got.ExpiresAt, "without a cap the expiry slides")
	approx(t, 6*time.Hour, pttl(t, c, oldKey))
	list, err := s.List(ctx, "u2")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.True(t, list[0].MaxExpiresAt.IsZero())
}

// A touch sets the keys' deadline exactly as Create does for the same
// expiry: the expiry rounded up to the millisecond, plus the retention,
// itself rounded up.
func TestTouchDeadlineMatchesCreate(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{Retention: time.Minute + 1500*time.Microsecond})
	base := time.Now().UTC().Truncate(time.Millisecond).Add(time.Hour + 1234*time.Microsecond)
	created := newToken(t, "u1")
	created.ExpiresAt = base
	require.NoError(t, s.Create(ctx, created.Clone()))
	touched := newToken(t, "u1")
	touched.ExpiresAt = base.Add(-time.Minute)
	touched.MaxExpiresAt = base
	require.NoError(t, s.Create(ctx, touched.Clone()))
	require.NoError(t, s.Touch(ctx, touched.ID, time.Now(), base.Add(time.Hour)))

	want := base.Truncate(time.Millisecond).Add(time.Millisecond + time.Minute + 2*time.Millisecond)
	for _, tok := range []*tokenauth.Token{created, touched} {
		for _, key := range []string{p + "t:" + hex.EncodeToString(tok.Digest), p + "id:" + tok.ID} {
			at, err := c.Do(ctx, "PEXPIRETIME", key).Int64()
			if err != nil && strings.Contains(err.Error(), "unknown command") {
				t.Skip("PEXPIRETIME needs Redis 7")
			}
			require.NoError(t, err)
			assert.Equal(t, want.UnixMilli(), at, "%s", key)
		}
	}
}

// An expired token is still found during the retention period, so that
// the Authenticator tells the client it has expired.
func TestRetentionKeepsExpiredTokens(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t, redisstore.Options{})
	a, err := tokenauth.New(s, tokenauth.Options{})
	require.NoError(t, err)
	now := time.Now()
	key, tok, err := a.Issue(ctx, "u1", tokenauth.IssueOptions{TTL: time.Hour})
	require.NoError(t, err)
	a2, err := tokenauth.New(s, tokenauth.Options{Now: func() time.Time { return now.Add(2 * time.Hour) }})
	require.NoError(t, err)
	_, err = a2.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)
	got, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
}

// With no retention Redis deletes a token when it expires, and List drops
// its ID from the user's set.
func TestNativeExpiry(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{Retention: -1})
	forever := newToken(t, "u1") // keeps the user's set alive
	require.NoError(t, s.Create(ctx, forever.Clone()))
	tok := newToken(t, "u1")
	tok.ExpiresAt = time.Now().Add(300 * time.Millisecond)
	require.NoError(t, s.Create(ctx, tok.Clone()))
	_, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		_, err := s.Find(ctx, tok.Digest)
		return errors.Is(err, tokenauth.ErrNotFound)
	}, 5*time.Second, 50*time.Millisecond)
	require.ErrorIs(t, s.Touch(ctx, tok.ID, time.Now(), time.Now().Add(time.Hour)), tokenauth.ErrNotFound)
	list, err := s.List(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, forever.ID, list[0].ID)
	ids, err := c.SMembers(ctx, p+"u:u1").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{forever.ID}, ids, "List dropped the expired token's ID")

	// A token created already past its retention is gone at once.
	gone := newToken(t, "u2")
	gone.ExpiresAt = time.Now().Add(-time.Minute)
	require.NoError(t, s.Create(ctx, gone.Clone()))
	_, err = s.Find(ctx, gone.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	n, err := c.Exists(ctx, p+"u:u2", p+"id:"+gone.ID).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestScopesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t, redisstore.Options{})
	tests := []struct {
		name   string
		scopes []string
	}{
		{"none", nil},
		{"plain", []string{"read", "write:orders", "*"}},
		{"separator-like", []string{`a","b`, "c,d", "[e]"}},
		{"escapes", []string{`back\slash`, `"quoted"`, "tab\there", "<html>&"}},
		{"unicode and empty", []string{"zoë", "", "日本"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := newToken(t, "u1")
			tok.Scopes = tc.scopes
			require.NoError(t, s.Create(ctx, tok.Clone()))
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.Equal(t, tc.scopes, got.Scopes)
		})
	}
}

func TestCreateRejectsIncompleteTokens(t *testing.T) {
	s, err := redisstore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), redisstore.Options{})
	require.NoError(t, err)
	full := newToken(t, "u1")
	tests := []struct {
		name string
		tok  *tokenauth.Token
	}{
		{"nil", nil},
		{"no ID", &tokenauth.Token{UserID: "u1", Digest: full.Digest}},
		{"no user", &tokenauth.Token{ID: full.ID, Digest: full.Digest}},
		{"no digest", &tokenauth.Token{ID: full.ID, UserID: "u1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Create(context.Background(), tc.tok)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "redisstore: create:")
		})
	}
}

// A server that cannot be reached is an outage, never "not found", and
// the error says which operation failed.
func TestUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	s, err := redisstore.New(client, redisstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	tok := newToken(t, "u1")
	_, findErr := s.Find(ctx, tok.Digest)
	_, deleteUserErr := s.DeleteUser(ctx, "u1")
	_, listErr := s.List(ctx, "u1")
	for op, err := range map[string]error{
		"create":      s.Create(ctx, tok),
		"find":        findErr,
		"delete":      s.Delete(ctx, tok.ID),
		"delete user": deleteUserErr,
		"list":        listErr,
		"touch":       s.Touch(ctx, tok.ID, time.Now(), time.Time{}),
	} {
		require.Error(t, err, op)
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound, op)
		assert.True(t, strings.HasPrefix(err.Error(), "redisstore: "+op+": "), "%s: %v", op, err)
	}
}

// A record that was damaged outside the store is an error, not a token,
// and the error names no digest.
func TestMalformedRecord(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{})
	tok := newToken(t, "u1")
	require.NoError(t, s.Create(ctx, tok.Clone()))
	hexDigest := hex.EncodeToString(tok.Digest)
	require.NoError(t, c.HSet(ctx, p+"t:"+hexDigest, "created", "yesterday").Err())
	_, err := s.Find(ctx, tok.Digest)
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
	assert.NotContains(t, err.Error(), hexDigest)
	_, err = s.List(ctx, "u1")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), hexDigest)
}

// Touches racing with a revocation never bring the token back.
func TestTouchRacingDelete(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{})
	for round := 0; round < 20; round++ {
		tok := newToken(t, "u1")
		tok.ExpiresAt = time.Now().Add(time.Hour)
		require.NoError(t, s.Create(ctx, tok.Clone()))
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				at := time.Now().Add(time.Duration(i) * time.Second)
				if err := s.Touch(ctx, tok.ID, at, at.Add(time.Hour)); err != nil {
					assert.ErrorIs(t, err, tokenauth.ErrNotFound)
				}
			}(i)
		}
		require.NoError(t, s.Delete(ctx, tok.ID))
		wg.Wait()
		n, err := c.Exists(ctx, p+"t:"+hex.EncodeToString(tok.Digest), p+"id:"+tok.ID).Result()
		require.NoError(t, err)
		require.Zero(t, n, "round %d: a touch recreated a deleted token", round)
	}
	ids, err := c.SMembers(ctx, p+"u:u1").Result()
	require.NoError(t, err)
	assert.Empty(t, ids)
}
