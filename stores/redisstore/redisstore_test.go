package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
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

func TestStoreSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
			// The suite's tokens expire on fixed dates that may lie long in
			// the past, and it expects them back: keep expired tokens far
			// longer than in production. TestExpiry covers Redis' own expiry.
			s, _, _ := newStoreOn(t, b, redisstore.Options{Retention: 100 * 365 * 24 * time.Hour})
			return s
		})
	})
}

func TestWatcherSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tokenauthtest.RunWatcherTests(t, func(t *testing.T) tokenauth.Store {
			s, _, _ := newStoreOn(t, b, redisstore.Options{})
			return s
		})
	})
}

// The key layout the README documents: the token by digest, its ID key,
// the user's index and cut-off, each user's two keys in one slot.
func TestKeyLayout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c, p := newStoreOn(t, b, redisstore.Options{Retention: time.Hour})
		tok := newToken(t, "user:1")
		tok.Scopes = []string{"read", `say "hi"`}
		tok.ExpiresAt = tok.CreatedAt.Add(time.Hour)
		tok.MaxExpiresAt = tok.CreatedAt.Add(24 * time.Hour)
		require.NoError(t, s.Create(ctx, tok.Clone()))
		forever := newToken(t, "user:1")
		require.NoError(t, s.Create(ctx, forever.Clone()))

		hexDigest := hex.EncodeToString(tok.Digest)
		fields, err := c.HGetAll(ctx, p+"t:"+hexDigest).Result()
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
		got, err := c.Get(ctx, p+"id:"+tok.ID).Result()
		require.NoError(t, err)
		assert.Equal(t, hexDigest, got)

		// The index scores each token by the latest time it can exist: the
		// deadline of its MaxExpiresAt (plus the retention), or +inf.
		index, err := c.ZRangeWithScores(ctx, p+"u:{user:1}", 0, -1).Result()
		require.NoError(t, err)
		require.Len(t, index, 2)
		bound := float64((tok.MaxExpiresAt.Add(time.Hour).UnixMicro() + 999) / 1000) // rounded up to the millisecond
		assert.Equal(t, []redis.Z{
			{Score: bound, Member: hexDigest + ":" + tok.ID},
			{Score: math.Inf(1), Member: hex.EncodeToString(forever.Digest) + ":" + forever.ID},
		}, index)
		assert.Equal(t, time.Duration(-1), pttl(t, c, p+"u:{user:1}"), "it lives as long as a token that never expires")

		cut := time.Now().UTC().Truncate(time.Microsecond)
		n, err := s.DeleteUser(ctx, "user:1", cut, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got, err = c.Get(ctx, p+"c:{user:1}").Result()
		require.NoError(t, err)
		assert.Equal(t, encodeMicros(cut), got)
		assert.Equal(t, time.Duration(-1), pttl(t, c, p+"c:{user:1}"), "a cut-off stays")
		// Once the token that never expires is gone, the index expires
		// with the last token, a minute late for nodes' clocks.
		assert.InDelta(t, time.Until(tok.MaxExpiresAt.Add(time.Hour+time.Minute)).Seconds(), pttl(t, c, p+"u:{user:1}").Seconds(), 2)

		if b == cluster {
			slot := func(key string) int64 {
				n, err := c.ClusterKeySlot(ctx, key).Result()
				require.NoError(t, err)
				return n
			}
			assert.Equal(t, slot(p+"u:{user:1}"), slot(p+"c:{user:1}"), "a user's keys share a slot")
			assert.Equal(t, slot("user:1"), slot(p+"u:{user:1}"), "the user ID's")
		}
	})
}

// User IDs may hold any bytes, braces too: a user's keys still share one
// slot (or a script would fail with CROSSSLOT), and no two users share
// keys.
func TestAwkwardUserIDs(t *testing.T) {
	users := []string{"}", "a}b", "{x}", "{", "%", "%7D", "%25", "ü ø", "user:1", "a\x00b"}
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := newStoreOn(t, b, redisstore.Options{})
		toks := map[string]*tokenauth.Token{}
		for _, u := range users {
			toks[u] = newToken(t, u)
			require.NoError(t, s.Create(ctx, toks[u].Clone()), "%q", u)
		}
		for _, u := range users {
			l, err := s.List(ctx, u)
			require.NoError(t, err, "%q", u)
			require.Len(t, l, 1, "%q", u)
			assert.Equal(t, toks[u].ID, l[0].ID, "%q", u)
		}
		for _, u := range users {
			n, err := s.DeleteUser(ctx, u, time.Now())
			require.NoError(t, err, "%q", u)
			assert.Equal(t, 1, n, "%q", u)
		}
		n, err := s.DeleteUser(ctx, "", time.Now())
		require.NoError(t, err, "the empty user ID")
		assert.Zero(t, n)
	})
}

// A prefix may hold a whole hash tag, which puts the store in one slot;
// a '{' that opens none is refused, as it would split a user's keys.
func TestPrefixHashTag(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	for _, p := range []string{"", "app:", "app}:", "app:{tokens}:", "{a}{"} {
		_, err := redisstore.New(client, redisstore.Options{Prefix: p})
		assert.NoError(t, err, "%q", p)
	}
	for _, p := range []string{"app{", "app:{}:", "{", "a{b}"[:2]} {
		_, err := redisstore.New(client, redisstore.Options{Prefix: p})
		require.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "%q", p)
		assert.Contains(t, err.Error(), "opens no hash tag")
	}

	c := cluster.client(t)
	ctx := context.Background()
	prefix := "tokenauthtest:{" + randomHex(t, 8) + "}:"
	cleanUp(t, c, prefix)
	s, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
	require.NoError(t, err)
	slots := map[int64]bool{}
	for i := range 20 {
		tok := newToken(t, fmt.Sprintf("user %d", i))
		require.NoError(t, s.Create(ctx, tok.Clone()))
		_, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err)
		n, err := s.DeleteUser(ctx, tok.UserID, time.Now())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		for _, key := range []string{prefix + "t:" + hex.EncodeToString(tok.Digest), prefix + "u:{" + tok.UserID + "}", prefix + "c:{" + tok.UserID + "}"} {
			slot, err := c.ClusterKeySlot(ctx, key).Result()
			require.NoError(t, err)
			slots[slot] = true
		}
	}
	assert.Len(t, slots, 1, "every key in the prefix's slot")
}

// touch records one use of the token with the given ID.
func touch(t testing.TB, s *redisstore.Store, id string, lastUsed, expiresAt time.Time) error {
	t.Helper()
	return s.Touch(context.Background(), []tokenauth.TokenUse{{ID: id, LastUsed: lastUsed, ExpiresAt: expiresAt}})
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
	const ret = redisstore.DefaultRetention
	tok := newToken(t, "u1")
	tok.ExpiresAt = time.Now().Add(time.Hour)
	require.NoError(t, s.Create(ctx, tok.Clone()))
	tokenKey, idKey, userKey := p+"t:"+hex.EncodeToString(tok.Digest), p+"id:"+tok.ID, p+"u:{u1}"
	for _, key := range []string{tokenKey, idKey} {
		approxTTL(t, time.Hour+ret, pttl(t, c, key))
	}
	assert.Equal(t, time.Duration(-1), pttl(t, c, userKey), "a token without MaxExpiresAt may slide for ever: so may its index entry")

	// A touch moves the expiry forward, never back; the ID key follows.
	require.NoError(t, touch(t, s, tok.ID, time.Now(), time.Now().Add(2*time.Hour)))
	for _, key := range []string{tokenKey, idKey} {
		approxTTL(t, 2*time.Hour+ret, pttl(t, c, key))
	}
	require.NoError(t, touch(t, s, tok.ID, time.Now(), time.Now().Add(time.Minute)))
	for _, key := range []string{tokenKey, idKey} {
		approxTTL(t, 2*time.Hour+ret, pttl(t, c, key))
	}

	// A user whose tokens all have a deadline: the index expires with the
	// last, a minute late.
	for _, d := range []time.Duration{time.Hour, 3 * time.Hour, 2 * time.Hour} {
		capped := newToken(t, "u2")
		capped.ExpiresAt, capped.MaxExpiresAt = time.Now().Add(time.Minute), time.Now().Add(d)
		require.NoError(t, s.Create(ctx, capped.Clone()))
	}
	approxTTL(t, 3*time.Hour+ret+time.Minute, pttl(t, c, p+"u:{u2}"))

	forever := newToken(t, "u2")
	require.NoError(t, s.Create(ctx, forever.Clone()))
	for _, key := range []string{p + "u:{u2}", p + "t:" + hex.EncodeToString(forever.Digest), p + "id:" + forever.ID} {
		assert.Equal(t, time.Duration(-1), pttl(t, c, key), key)
	}
}

func approxTTL(t *testing.T, want, got time.Duration) {
	t.Helper()
	assert.InDelta(t, want.Seconds(), got.Seconds(), 2, "TTL %s, want about %s", got, want)
}

// A touch never moves a token's expiry, nor its keys' expiry, past its
// MaxExpiresAt; a token stored before the field existed has none, and
// still slides.
func TestExpiryCappedAtMaxExpiresAt(t *testing.T) {
	ctx := context.Background()
	s, c, p := newTestStore(t, redisstore.Options{Retention: time.Hour})
	now := time.Now().UTC().Truncate(time.Microsecond)

	capped := newToken(t, "u1")
	capped.ExpiresAt = now.Add(time.Hour)
	capped.MaxExpiresAt = now.Add(90 * time.Minute)
	require.NoError(t, s.Create(ctx, capped.Clone()))
	require.NoError(t, touch(t, s, capped.ID, now, now.Add(5*time.Hour)))
	got, err := s.Find(ctx, capped.Digest)
	require.NoError(t, err)
	assert.Equal(t, capped.MaxExpiresAt, got.ExpiresAt, "the expiry stops at the cap")
	approxTTL(t, 90*time.Minute+time.Hour, pttl(t, c, p+"t:"+hex.EncodeToString(capped.Digest)))
	assert.Greater(t, pttl(t, c, p+"id:"+capped.ID), 90*time.Minute+time.Hour, "the ID key outlives the token")
	approxTTL(t, 90*time.Minute+time.Hour+time.Minute, pttl(t, c, p+"u:{u1}"))

	// A record without the field, as an earlier release stored it.
	old := newToken(t, "u2")
	old.ExpiresAt = now.Add(time.Hour)
	require.NoError(t, s.Create(ctx, old.Clone()))
	oldKey := p + "t:" + hex.EncodeToString(old.Digest)
	require.NoError(t, c.HDel(ctx, oldKey, "max_expires").Err())
	got, err = s.Find(ctx, old.Digest)
	require.NoError(t, err)
	assert.True(t, got.MaxExpiresAt.IsZero())
	require.NoError(t, touch(t, s, old.ID, now, now.Add(5*time.Hour)))
	got, err = s.Find(ctx, old.Digest)
	require.NoError(t, err)
	assert.Equal(t, now.Add(5*time.Hour), got.ExpiresAt, "without a cap the expiry slides")
	approxTTL(t, 6*time.Hour, pttl(t, c, oldKey))
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
	require.NoError(t, touch(t, s, touched.ID, time.Now(), base.Add(time.Hour)))

	want := base.Truncate(time.Millisecond).Add(time.Millisecond + time.Minute + 2*time.Millisecond)
	expireTime := func(key string) int64 {
		at, err := c.Do(ctx, "PEXPIRETIME", key).Int64()
		if err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Skip("PEXPIRETIME needs Redis 7")
		}
		require.NoError(t, err)
		return at
	}
	for _, key := range []string{p + "t:" + hex.EncodeToString(created.Digest), p + "id:" + created.ID, p + "t:" + hex.EncodeToString(touched.Digest)} {
		assert.Equal(t, want.UnixMilli(), expireTime(key), "%s", key)
	}
	// The touch asked for an hour more: the ID key, in another slot than
	// the token, was made to live that long before the token was capped.
	assert.Equal(t, want.Add(time.Hour).UnixMilli(), expireTime(p+"id:"+touched.ID))
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
// its entry from the user's index.
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
	require.NoError(t, touch(t, s, tok.ID, time.Now(), time.Now().Add(time.Hour)), "a token that is gone is skipped")
	_, err = s.Find(ctx, tok.Digest)
	require.ErrorIs(t, err, tokenauth.ErrNotFound, "and not recreated")
	list, err := s.List(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, forever.ID, list[0].ID)
	entries, err := c.ZRange(ctx, p+"u:{u1}", 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{hex.EncodeToString(forever.Digest) + ":" + forever.ID}, entries, "List dropped the expired token's entry")

	// A token created already past its retention is gone at once; List
	// drops its index entry, and the index with it.
	gone := newToken(t, "u2")
	gone.ExpiresAt = time.Now().Add(-time.Minute)
	require.NoError(t, s.Create(ctx, gone.Clone()))
	_, err = s.Find(ctx, gone.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	list, err = s.List(ctx, "u2")
	require.NoError(t, err)
	assert.Empty(t, list)
	n, err := c.Exists(ctx, p+"u:{u2}", p+"id:"+gone.ID).Result()
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
	s, err := redisstore.New(redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1"}), redisstore.Options{})
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
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	s, err := redisstore.New(client, redisstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	tok := newToken(t, "u1")
	_, findErr := s.Find(ctx, tok.Digest)
	_, deleteUserErr := s.DeleteUser(ctx, "u1", time.Now())
	_, listErr := s.List(ctx, "u1")
	for op, err := range map[string]error{
		"create":      s.Create(ctx, tok),
		"find":        findErr,
		"delete":      s.Delete(ctx, tok.ID),
		"delete user": deleteUserErr,
		"list":        listErr,
		"touch":       touch(t, s, tok.ID, time.Now(), time.Time{}),
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
				assert.NoError(t, touch(t, s, tok.ID, at, at.Add(time.Hour)))
			}(i)
		}
		require.NoError(t, s.Delete(ctx, tok.ID))
		wg.Wait()
		n, err := c.Exists(ctx, p+"t:"+hex.EncodeToString(tok.Digest), p+"id:"+tok.ID).Result()
		require.NoError(t, err)
		require.Zero(t, n, "round %d: a touch recreated a deleted token", round)
	}
	entries, err := c.ZRange(ctx, p+"u:{u1}", 0, -1).Result()
	require.NoError(t, err)
	assert.Empty(t, entries)
}
