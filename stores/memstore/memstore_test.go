package memstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

func TestStore(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store { return memstore.New() })
}

var (
	ctx  = context.Background()
	base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
)

func newToken(t *testing.T, userID string, digestLen int) *tokenauth.Token {
	t.Helper()
	d := make([]byte, digestLen)
	_, _ = rand.Read(d)
	return &tokenauth.Token{
		ID:        rand.Text(),
		UserID:    userID,
		Name:      "laptop",
		Scopes:    []string{"read"},
		CreatedAt: base,
		Digest:    d,
	}
}

// TestDigestLengths checks digests of custom Hashers, shorter and longer
// than SHA-256's, and the empty one.
func TestDigestLengths(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31, 32, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := memstore.New()
			tok := newToken(t, "u", n)
			require.NoError(t, s.Create(ctx, tok))
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.Equal(t, tok.ID, got.ID)
			assert.Equal(t, string(tok.Digest), string(got.Digest))
			assert.Len(t, got.Digest, n)
			err = s.Create(ctx, newToken(t, "u", n))
			if n == 0 {
				assert.ErrorIs(t, err, tokenauth.ErrExists, "a second empty digest is a duplicate")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestTimes(t *testing.T) {
	for _, c := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"zero stays zero", time.Time{}, time.Time{}},
		{"microseconds kept", base, base},
		{"nanoseconds dropped", base.Add(999), base},
		{"another zone comes back in UTC", base.In(time.FixedZone("X", 3600)), base},
		{"before 1970", time.Date(1900, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := memstore.New()
			tok := newToken(t, "u", 32)
			tok.ExpiresAt = c.at
			require.NoError(t, s.Create(ctx, tok))
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.Equal(t, c.want, got.ExpiresAt)
			assert.Equal(t, c.at.IsZero(), got.ExpiresAt.IsZero())
		})
	}
}

// TestFindShares checks that Find returns the same token, without
// allocating, until a write to it, and then the new one.
func TestFindShares(t *testing.T) {
	s := memstore.New()
	tok := newToken(t, "u", 32)
	tok.ExpiresAt = base.Add(time.Hour)
	require.NoError(t, s.Create(ctx, tok))
	first, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)
	again, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.Same(t, first, again)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = s.Find(ctx, tok.Digest) }))

	require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: tok.ID, LastUsed: base.Add(time.Minute), ExpiresAt: base.Add(2 * time.Hour)}}))
	touched, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.Equal(t, base.Add(time.Minute), touched.LastUsedAt)
	assert.Equal(t, base.Add(2*time.Hour), touched.ExpiresAt)
	assert.True(t, first.LastUsedAt.IsZero(), "a token handed out never changes")

	require.NoError(t, s.Expire(ctx, tok.ID, base.Add(time.Minute)))
	expired, err := s.Find(ctx, tok.Digest)
	require.NoError(t, err)
	assert.Equal(t, base.Add(time.Minute), expired.ExpiresAt)

	require.NoError(t, s.Delete(ctx, tok.ID))
	_, err = s.Find(ctx, tok.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
}

func TestExpire(t *testing.T) {
	soon, later := base.Add(time.Minute), base.Add(time.Hour)
	for _, c := range []struct {
		name                 string
		expires, max         time.Time
		at                   time.Time
		wantExpires, wantMax time.Time
	}{
		{"never expiring", time.Time{}, time.Time{}, soon, soon, soon},
		{"later expiry", later, later, soon, soon, soon},
		{"earlier expiry kept", soon, later, later, soon, later},
		{"earlier deadline kept", later, soon, later, later, soon},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := memstore.New()
			tok := newToken(t, "u", 32)
			tok.ExpiresAt, tok.MaxExpiresAt = c.expires, c.max
			require.NoError(t, s.Create(ctx, tok))
			require.NoError(t, s.Expire(ctx, tok.ID, c.at))
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.Equal(t, c.wantExpires, got.ExpiresAt)
			assert.Equal(t, c.wantMax, got.MaxExpiresAt)
		})
	}
	t.Run("gone", func(t *testing.T) {
		assert.ErrorIs(t, memstore.New().Expire(ctx, "nope", soon), tokenauth.ErrNotFound)
	})
	t.Run("zero time", func(t *testing.T) {
		s := memstore.New()
		tok := newToken(t, "u", 32)
		require.NoError(t, s.Create(ctx, tok))
		err := s.Expire(ctx, tok.ID, time.Time{})
		require.Error(t, err)
		assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
	})
	t.Run("canceled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, memstore.New().Expire(c, "x", soon), context.Canceled)
	})
}

func TestTouch(t *testing.T) {
	s := memstore.New()
	a, b := newToken(t, "u", 32), newToken(t, "v", 32)
	a.ExpiresAt, a.MaxExpiresAt = base.Add(time.Hour), base.Add(90*time.Minute)
	for _, tok := range []*tokenauth.Token{a, b} {
		require.NoError(t, s.Create(ctx, tok))
	}
	require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{
		{ID: a.ID, LastUsed: base.Add(time.Minute), ExpiresAt: base.Add(2 * time.Hour)},
		{ID: "gone", LastUsed: base.Add(time.Minute)},
		{ID: b.ID, LastUsed: base.Add(2 * time.Minute), ExpiresAt: base.Add(time.Hour)},
		{ID: a.ID, LastUsed: base, ExpiresAt: base}, // older: changes nothing
	}))
	got, err := s.Find(ctx, a.Digest)
	require.NoError(t, err)
	assert.Equal(t, base.Add(time.Minute), got.LastUsedAt)
	assert.Equal(t, base.Add(90*time.Minute), got.ExpiresAt, "capped at MaxExpiresAt")
	got, err = s.Find(ctx, b.Digest)
	require.NoError(t, err)
	assert.Equal(t, base.Add(2*time.Minute), got.LastUsedAt)
	assert.True(t, got.ExpiresAt.IsZero(), "a token that never expires keeps never expiring")

	c, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, s.Touch(c, nil), context.Canceled)
}

func TestCreateNil(t *testing.T) {
	require.Error(t, memstore.New().Create(ctx, nil))
}

// TestManyUsers deletes users' newest, oldest and middle tokens and checks
// what List and Find still see.
func TestManyUsers(t *testing.T) {
	s := memstore.New()
	const users, per = 20, 30
	toks := map[string][]*tokenauth.Token{}
	for i := range users * per {
		u := fmt.Sprintf("user-%d", i%users)
		tok := newToken(t, u, 32)
		tok.CreatedAt = base.Add(time.Duration(i) * time.Second)
		require.NoError(t, s.Create(ctx, tok))
		toks[u] = append(toks[u], tok)
	}
	require.Equal(t, users*per, s.Len())
	for u, ts := range toks {
		// Delete the newest, the oldest and one in the middle.
		for _, i := range []int{per - 1, 0, per / 2} {
			require.NoError(t, s.Delete(ctx, ts[i].ID))
		}
		l, err := s.List(ctx, u)
		require.NoError(t, err)
		require.Len(t, l, per-3)
		for i := 1; i < len(l); i++ {
			assert.True(t, l[i-1].CreatedAt.Before(l[i].CreatedAt), "oldest first")
		}
	}
	n, err := s.DeleteUser(ctx, "user-3", base)
	require.NoError(t, err)
	assert.Equal(t, per-3, n)
	l, err := s.List(ctx, "user-3")
	require.NoError(t, err)
	assert.Empty(t, l)
	assert.Equal(t, users*(per-3)-(per-3), s.Len())
	for _, tok := range toks["user-4"][1 : per/2] {
		_, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err)
	}
	for range 3 * users {
		require.NoError(t, s.Create(ctx, newToken(t, "late", 32)))
	}
	l, err = s.List(ctx, "late")
	require.NoError(t, err)
	assert.Len(t, l, 3*users)
}

// TestConcurrentFindWrite races lookups with the writes that replace their
// records; once the writers are done, every Find sees the last write.
func TestConcurrentFindWrite(t *testing.T) {
	s := memstore.New()
	toks := make([]*tokenauth.Token, 16)
	for i := range toks {
		toks[i] = newToken(t, "u", 32)
		toks[i].ExpiresAt = base.Add(time.Hour)
		require.NoError(t, s.Create(ctx, toks[i]))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, tok := range toks {
					got, err := s.Find(ctx, tok.Digest)
					if !assert.NoError(t, err) || !assert.Equal(t, tok.ID, got.ID) {
						return
					}
				}
			}
		})
	}
	const touches = 200
	for i := 1; i <= touches; i++ {
		tok := toks[i%len(toks)]
		at := base.Add(time.Duration(i) * time.Second)
		require.NoError(t, s.Touch(ctx, []tokenauth.TokenUse{{ID: tok.ID, LastUsed: at, ExpiresAt: at.Add(time.Hour)}}))
	}
	close(stop)
	wg.Wait()
	for i, tok := range toks {
		got, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err)
		last := touches - (touches-i)%len(toks)
		assert.Equal(t, base.Add(time.Duration(last)*time.Second), got.LastUsedAt, "token %d", i)
	}
}

// TestSweep checks that a long-running process does not keep expired
// tokens for ever: once the store has doubled, Create drops them.
func TestSweep(t *testing.T) {
	s := memstore.New()
	expired := newToken(t, "u", 32)
	expired.ExpiresAt = time.Now().Add(-time.Hour)
	require.NoError(t, s.Create(ctx, expired))
	for range 2048 {
		require.NoError(t, s.Create(ctx, newToken(t, "u", 32)))
	}
	_, err := s.Find(ctx, expired.Digest)
	assert.ErrorIs(t, err, tokenauth.ErrNotFound)
	assert.Equal(t, 2048, s.Len())
}
