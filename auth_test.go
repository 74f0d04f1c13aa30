package tokenauth_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// touchCounter counts Touch calls on top of a store.
type touchCounter struct {
	tokenauth.Store
	touches atomic.Int64
	err     error
}

func (s *touchCounter) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	s.touches.Add(1)
	if s.err != nil {
		return s.err
	}
	return s.Store.Touch(ctx, id, lastUsed, expiresAt)
}

// logBuffer returns a logger writing into a buffer, to inspect log lines.
func logBuffer() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var quiet = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))

func TestNewRejectsInvalidOptions(t *testing.T) {
	s := memstore.New()
	cases := map[string]tokenauth.Options{
		"bad prefix":          {Prefix: "a_b"},
		"long prefix":         {Prefix: strings.Repeat("a", 17)},
		"empty keyword":       {Keywords: []string{""}},
		"keyword with space":  {Keywords: []string{"My Token"}},
		"negative TTL":        {DefaultTTL: -time.Second},
		"negative idle":       {IdleTimeout: -time.Second},
		"negative timeout":    {StoreTimeout: -time.Second},
		"negative retry":      {RetryAfter: -time.Second},
		"idle without touch":  {IdleTimeout: time.Hour, TouchInterval: -1},
		"idle under interval": {IdleTimeout: time.Minute, TouchInterval: 2 * time.Minute},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tokenauth.New(s, opts)
			assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
		})
	}
	_, err := tokenauth.New(nil, tokenauth.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}

func TestIssueStoresOnlyTheDigest(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "42", tokenauth.IssueOptions{Name: "cli", Scopes: []string{"read"}})
	require.NoError(t, err)
	require.NoError(t, tokenauth.Parse("", key))
	assert.Equal(t, "42", tok.UserID)
	assert.Equal(t, "cli", tok.Name)
	assert.Equal(t, []string{"read"}, tok.Scopes)
	assert.True(t, tok.ExpiresAt.IsZero(), "tokens never expire by default")
	assert.Equal(t, tokenauth.SHA256.Digest(key), tok.Digest)

	stored, err := s.List(ctx, "42")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.Equal(t, tok.ID, stored[0].ID)
	assert.NotContains(t, stored[0].ID+stored[0].Name+string(stored[0].Digest), key[4:20], "plaintext must not be stored")

	_, _, err = a.Issue(ctx, "", tokenauth.IssueOptions{})
	assert.Error(t, err)
	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: -time.Second})
	assert.Error(t, err)
}

func TestVerify(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	ctx := context.Background()
	key := tokenauthtest.Issue(t, a, "7", "read")

	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "7", p.Token.UserID)
	assert.Nil(t, p.User)

	unknown, err := tokenauth.Generate("")
	require.NoError(t, err)
	_, err = a.Verify(ctx, unknown)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)

	// Malformed keys never reach the store.
	before := s.Calls()
	for _, k := range []string{"", "x", key[:len(key)-1], key + "x", strings.ToUpper(key), "0123456789abcdef0123456789abcdef01234567"} {
		_, err := a.Verify(ctx, k)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, k)
	}
	assert.Equal(t, before, s.Calls(), "malformed keys must be rejected before the store")
}

func TestLegacyKeys(t *testing.T) {
	const legacy = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b" // DRF docs' example key
	ctx := context.Background()
	for _, accept := range []bool{false, true} {
		a, s := tokenauthtest.New(t, tokenauth.Options{AcceptLegacyKeys: accept})
		id, err := tokenauth.NewID()
		require.NoError(t, err)
		require.NoError(t, s.Create(ctx, &tokenauth.Token{ID: id, UserID: "1", Name: "drf", CreatedAt: time.Now(), Digest: a.Hasher().Digest(legacy)}))
		p, err := a.Verify(ctx, legacy)
		if accept {
			require.NoError(t, err)
			assert.Equal(t, "1", p.Token.UserID)
		} else {
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
		}
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	c := newClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, DefaultTTL: time.Hour})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(time.Hour), tok.ExpiresAt)
	short, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Minute})
	require.NoError(t, err)

	c.Advance(59 * time.Second)
	_, err = a.Verify(ctx, short)
	require.NoError(t, err)
	c.Advance(time.Second)
	_, err = a.Verify(ctx, short)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "expired is a kind of invalid")

	c.Advance(58 * time.Minute)
	_, err = a.Verify(ctx, key)
	require.NoError(t, err, "use does not extend an absolute expiry")
	c.Advance(time.Minute)
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)
}

func TestSlidingExpiry(t *testing.T) {
	c := newClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, IdleTimeout: 10 * time.Minute, TouchInterval: time.Minute})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(10*time.Minute), tok.ExpiresAt)

	// Used every 9 minutes, it lives on long past its first expiry.
	for i := 0; i < 5; i++ {
		c.Advance(9 * time.Minute)
		p, err := a.Verify(ctx, key)
		require.NoError(t, err, "use %d", i)
		assert.True(t, p.Token.ExpiresAt.After(c.Now()))
	}
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(10*time.Minute), p.Token.ExpiresAt)

	// Idle for longer than the timeout, it expires.
	c.Advance(10 * time.Minute)
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)
}

func TestLastUsedWrittenOncePerInterval(t *testing.T) {
	c := newClock()
	store := &touchCounter{Store: memstore.New()}
	a, err := tokenauth.New(store, tokenauth.Options{Now: c.Now, TouchInterval: time.Minute})
	require.NoError(t, err)
	ctx := context.Background()
	key := tokenauthtest.Issue(t, a, "1")

	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Verify(ctx, key)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, store.touches.Load(), "50 concurrent requests, one write")

	c.Advance(30 * time.Second)
	for i := 0; i < 10; i++ {
		_, err := a.Verify(ctx, key)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, store.touches.Load(), "no write within the interval")

	c.Advance(31 * time.Second)
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, 2, store.touches.Load(), "one write once the interval has passed")
	p, err = a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c.Now(), p.Token.LastUsedAt)

	// Tracking off: never written.
	off := &touchCounter{Store: memstore.New()}
	b, err := tokenauth.New(off, tokenauth.Options{TouchInterval: -1})
	require.NoError(t, err)
	k := tokenauthtest.Issue(t, b, "1")
	for i := 0; i < 3; i++ {
		_, err := b.Verify(ctx, k)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 0, off.touches.Load())
}

func TestTouchFailures(t *testing.T) {
	ctx := context.Background()
	logger, logs := logBuffer()
	store := &touchCounter{Store: memstore.New(), err: errors.New("disk full")}
	a, err := tokenauth.New(store, tokenauth.Options{Logger: logger})
	require.NoError(t, err)
	key := tokenauthtest.Issue(t, a, "1")
	_, err = a.Verify(ctx, key)
	require.NoError(t, err, "a failed last-used write must not refuse a valid token")
	_, err = a.Verify(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, 2, store.touches.Load(), "a failed write is retried by the next request")
	assert.Contains(t, logs.String(), "disk full")
	assert.NotContains(t, logs.String(), key)

	// A token revoked while the request was in flight is refused.
	store.err = tokenauth.ErrNotFound
	c := newClock()
	b, err := tokenauth.New(store, tokenauth.Options{Now: c.Now})
	require.NoError(t, err)
	k2 := tokenauthtest.Issue(t, b, "1")
	_, err = b.Verify(ctx, k2)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
}

func TestUserLoader(t *testing.T) {
	ctx := context.Background()
	type user struct{ name string }
	loaderErr := errors.New("users db: timeout")
	a, _ := tokenauthtest.New(t, tokenauth.Options{Logger: quiet, UserLoader: func(ctx context.Context, id string) (any, error) {
		switch id {
		case "1":
			return &user{"alice"}, nil
		case "2":
			return nil, tokenauth.ErrUserInactive
		case "3":
			return nil, tokenauth.ErrNotFound
		}
		return nil, loaderErr
	}})
	p, err := a.Verify(ctx, tokenauthtest.Issue(t, a, "1"))
	require.NoError(t, err)
	assert.Equal(t, &user{"alice"}, p.User)

	_, err = a.Verify(ctx, tokenauthtest.Issue(t, a, "2"))
	assert.ErrorIs(t, err, tokenauth.ErrUserInactive)
	_, err = a.Verify(ctx, tokenauthtest.Issue(t, a, "3"))
	assert.ErrorIs(t, err, tokenauth.ErrUserInactive)
	_, err = a.Verify(ctx, tokenauthtest.Issue(t, a, "4"))
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, err, loaderErr)
}

func TestStoreOutage(t *testing.T) {
	ctx := context.Background()
	logger, logs := logBuffer()
	a, s := tokenauthtest.New(t, tokenauth.Options{Logger: logger})
	key := tokenauthtest.Issue(t, a, "1")
	cause := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	s.SetErr(cause)

	_, err := a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, tokenauth.ErrInvalidToken, "an outage must never look like a bad token")
	status, detail := tokenauth.Classify(err)
	assert.Equal(t, 503, status)
	assert.NotContains(t, detail, "refused")

	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{})
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, a.Revoke(ctx, "x"), tokenauth.ErrUnavailable)
	_, err = a.RevokeAll(ctx, "1")
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)

	assert.Contains(t, logs.String(), "connection refused")
	assert.NotContains(t, logs.String(), key)
	assert.NotContains(t, logs.String(), key[4:])

	s.SetErr(nil)
	_, err = a.Verify(ctx, key)
	assert.NoError(t, err)
}

// slowStore blocks Find until its context ends.
type slowStore struct{ tokenauth.Store }

func (slowStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestStoreTimeout(t *testing.T) {
	a, err := tokenauth.New(slowStore{memstore.New()}, tokenauth.Options{StoreTimeout: 20 * time.Millisecond, Logger: quiet})
	require.NoError(t, err)
	key, err := tokenauth.Generate("")
	require.NoError(t, err)
	start := time.Now()
	_, err = a.Verify(context.Background(), key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	k1 := tokenauthtest.Issue(t, a, "1")
	k2 := tokenauthtest.Issue(t, a, "1")
	k3 := tokenauthtest.Issue(t, a, "2")
	p, err := a.Verify(ctx, k1)
	require.NoError(t, err)

	require.NoError(t, a.Revoke(ctx, p.Token.ID))
	_, err = a.Verify(ctx, k1)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	assert.ErrorIs(t, a.Revoke(ctx, p.Token.ID), tokenauth.ErrNotFound)

	n, err := a.RevokeAll(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = a.Verify(ctx, k2)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, k3)
	assert.NoError(t, err, "another user's token survives")
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	a, s := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
	oldKey, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{Name: "ci", Scopes: []string{"deploy"}, TTL: time.Hour})
	require.NoError(t, err)
	c.Advance(30 * time.Minute)
	p, err := a.Verify(ctx, oldKey)
	require.NoError(t, err)

	newKey, tok, err := a.Rotate(ctx, p.Token)
	require.NoError(t, err)
	assert.NotEqual(t, oldKey, newKey)
	assert.Equal(t, "ci", tok.Name)
	assert.Equal(t, []string{"deploy"}, tok.Scopes)
	assert.Equal(t, c.Now().Add(time.Hour), tok.ExpiresAt, "same lifetime, counted from now")
	_, err = a.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err)

	// Rotating a revoked token yields nothing and leaves nothing behind.
	before := s.Len()
	_, _, err = a.Rotate(ctx, p.Token)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	assert.Equal(t, before, s.Len())
	_, _, err = a.Rotate(ctx, nil)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
}

func TestHMACHasher(t *testing.T) {
	_, err := tokenauth.NewHMAC([]byte("short"))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)

	h1, err := tokenauth.NewHMAC(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	h2, err := tokenauth.NewHMAC(bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	key := "tka_example"
	assert.Len(t, h1.Digest(key), 32)
	assert.Equal(t, h1.Digest(key), h1.Digest(key))
	assert.NotEqual(t, h1.Digest(key), h2.Digest(key), "the server key matters")
	assert.NotEqual(t, tokenauth.SHA256.Digest(key), h1.Digest(key))
	assert.Equal(t, h1.Digest(strings.Repeat("k", 5000)), h1.Digest(strings.Repeat("k", 5000)))

	// Concurrent use gives consistent digests.
	want := h1.Digest(key)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if !bytes.Equal(want, h1.Digest(key)) {
					t.Error("inconsistent digest under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()

	// An Authenticator with an HMAC hasher works end to end.
	a, _ := tokenauthtest.New(t, tokenauth.Options{Hasher: h1})
	_, err = a.Verify(context.Background(), tokenauthtest.Issue(t, a, "1"))
	assert.NoError(t, err)
}

func TestClientHangUpIsNotLoggedAsStoreFailure(t *testing.T) {
	logger, logs := logBuffer()
	a, err := tokenauth.New(slowStore{memstore.New()}, tokenauth.Options{Logger: logger})
	require.NoError(t, err)
	key, err := tokenauth.Generate("")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client has gone
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.NotContains(t, logs.String(), "level=ERROR")

	// A store that times out on its own is an outage, and logged as one.
	b, err := tokenauth.New(slowStore{memstore.New()}, tokenauth.Options{Logger: logger, StoreTimeout: time.Millisecond})
	require.NoError(t, err)
	_, err = b.Verify(context.Background(), key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.Contains(t, logs.String(), "level=ERROR")
}

// customHasher is a Hasher from outside the package: the middleware cannot
// write its digests into memory of its own and must take Digest's.
type customHasher struct{}

func (customHasher) Digest(key string) []byte {
	sum := sha512.Sum512_256([]byte(key))
	return sum[:]
}

func TestAuthenticateContext(t *testing.T) {
	hmacHasher, err := tokenauth.NewHMAC(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	for name, h := range map[string]tokenauth.Hasher{"sha256": tokenauth.SHA256, "hmac": hmacHasher, "custom": customHasher{}} {
		t.Run(name, func(t *testing.T) {
			a, s := tokenauthtest.New(t, tokenauth.Options{Hasher: h, Logger: quiet})
			key := tokenauthtest.Issue(t, a, "7", "read")

			type parentKey struct{}
			parent := context.WithValue(context.Background(), parentKey{}, "kept")
			r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(parent)
			r.Header.Set("Authorization", "Token "+key)
			ctx, p, err := a.AuthenticateContext(r)
			require.NoError(t, err)
			require.NotNil(t, p.Token)
			assert.Equal(t, "7", p.Token.UserID)
			assert.Equal(t, h.Digest(key), p.Token.Digest, "the store was asked for the Hasher's digest")
			tok, ok := tokenauth.FromContext(ctx)
			require.True(t, ok)
			assert.Same(t, p.Token, tok)
			assert.Equal(t, "kept", ctx.Value(parentKey{}), "the context derives from the request's")

			// The same answers as Authenticate, without a context on error.
			for _, k := range []string{"", "garbage", strings.Repeat("0", 40)} {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if k != "" {
					r.Header.Set("Authorization", "Token "+k)
				}
				ctx, _, err := a.AuthenticateContext(r)
				_, want := a.Authenticate(r)
				assert.Equal(t, want, err, "key %q", k)
				assert.Nil(t, ctx)
			}
			s.SetErr(errors.New("connection refused"))
			ctx, _, err = a.AuthenticateContext(r)
			assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
			assert.Nil(t, ctx)
		})
	}
}
