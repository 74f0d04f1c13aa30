package tokenauth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newMem returns an Authenticator with opts over a fresh memstore, which it
// also returns, for tests that count what is stored.
func newMem(t *testing.T, opts tokenauth.Options) (*tokenauth.Authenticator, *memstore.Store) {
	t.Helper()
	s := memstore.New()
	a, err := tokenauth.New(s, opts)
	require.NoError(t, err)
	return a, s
}

// touchCounter counts Touch calls on top of a store and records the
// largest expiry it was asked to write.
type touchCounter struct {
	tokenauth.Store
	touches atomic.Int64
	err     error

	mu      sync.Mutex
	expires []time.Time // expiresAt of each Touch, in call order
}

func (s *touchCounter) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	s.touches.Add(int64(len(uses)))
	s.mu.Lock()
	for _, u := range uses {
		s.expires = append(s.expires, u.ExpiresAt)
	}
	s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return s.Store.Touch(ctx, uses)
}

func (s *touchCounter) written() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.expires...)
}

// logBuffer returns a logger writing into a buffer, to inspect log lines.
func logBuffer() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
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

// unknownKey returns a well-formed key that no store of the test holds:
// one issued by another Authenticator over another store.
func unknownKey(t *testing.T) string {
	t.Helper()
	other, _ := tokenauthtest.New(t, tokenauth.Options{})
	return tokenauthtest.Issue(t, other, "nobody")
}

// stallStore is a frozen database: the methods named in stall block until
// the context of the call ends. At the end of the test they are released,
// so that a call without a deadline fails the test instead of hanging it.
type stallStore struct {
	tokenauth.Store
	stall   map[string]bool
	release chan struct{}
}

var errReleased = errors.New("stallStore: released at the end of the test; the call had no deadline")

func newStallStore(t *testing.T, inner tokenauth.Store, ops ...string) *stallStore {
	s := &stallStore{Store: inner, stall: map[string]bool{}, release: make(chan struct{})}
	for _, op := range ops {
		s.stall[op] = true
	}
	t.Cleanup(func() { close(s.release) })
	return s
}

func (s *stallStore) wait(ctx context.Context, op string) error {
	if !s.stall[op] {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.release:
		return errReleased
	}
}

func (s *stallStore) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := s.wait(ctx, "Create"); err != nil {
		return err
	}
	return s.Store.Create(ctx, t)
}

func (s *stallStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := s.wait(ctx, "Find"); err != nil {
		return nil, err
	}
	return s.Store.Find(ctx, digest)
}

func (s *stallStore) Delete(ctx context.Context, id string) error {
	if err := s.wait(ctx, "Delete"); err != nil {
		return err
	}
	return s.Store.Delete(ctx, id)
}

func (s *stallStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	if err := s.wait(ctx, "DeleteUser"); err != nil {
		return 0, err
	}
	return s.Store.DeleteUser(ctx, userID, before, keep...)
}

func (s *stallStore) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := s.wait(ctx, "List"); err != nil {
		return nil, err
	}
	return s.Store.List(ctx, userID)
}

func (s *stallStore) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	if err := s.wait(ctx, "Touch"); err != nil {
		return err
	}
	return s.Store.Touch(ctx, uses)
}

func (s *stallStore) Expire(ctx context.Context, id string, at time.Time) error {
	if err := s.wait(ctx, "Expire"); err != nil {
		return err
	}
	return s.Store.Expire(ctx, id, at)
}

// within runs f and returns its result, failing the test if f has not
// returned after d. f must not use t: it may outlive the test.
func within[T any](t *testing.T, d time.Duration, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
		panic("unreachable")
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	s := memstore.New()
	cases := map[string]tokenauth.Options{
		"bad prefix":          {Prefix: "a_b"},
		"long prefix":         {Prefix: strings.Repeat("a", 17)},
		"empty keyword":       {Keywords: []string{""}},
		"keyword with space":  {Keywords: []string{"My Token"}},
		"negative TTL":        {DefaultTTL: -time.Second},
		"negative idle":       {IdleTimeout: -time.Second},
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

var keyFormat = regexp.MustCompile(`^tka_[0-9A-Za-z]{49}$`)

func TestIssueStoresOnlyTheDigest(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "42", tokenauth.IssueOptions{Name: "cli", Scopes: []string{"read"}})
	require.NoError(t, err)
	assert.Regexp(t, keyFormat, key)
	assert.Equal(t, "42", tok.UserID)
	assert.Equal(t, "cli", tok.Name)
	assert.Equal(t, []string{"read"}, tok.Scopes)
	assert.True(t, tok.ExpiresAt.IsZero(), "tokens never expire by default")
	assert.True(t, tok.MaxExpiresAt.IsZero(), "tokens never expire by default")
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

	// The prefix is the host's.
	b, _ := tokenauthtest.New(t, tokenauth.Options{Prefix: "myapp"})
	mine := tokenauthtest.Issue(t, b, "1")
	assert.True(t, strings.HasPrefix(mine, "myapp_"), mine)
	_, err = a.Verify(ctx, mine)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "another prefix is another format")
}

func TestVerify(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{Logger: quiet})
	ctx := context.Background()
	key := tokenauthtest.Issue(t, a, "7", "read")

	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "7", p.Token.UserID)
	assert.Nil(t, p.User)

	_, err = a.Verify(ctx, unknownKey(t))
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)

	// Malformed keys never reach the store.
	before := s.Calls()
	for _, k := range []string{"", "x", key[:len(key)-1], key + "x", strings.ToUpper(key),
		"0123456789abcdef0123456789abcdef01234567", "0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c"} {
		_, err := a.Verify(ctx, k)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, k)
	}
	assert.Equal(t, before, s.Calls(), "malformed keys must be rejected before the store")
}

func TestLegacyKeys(t *testing.T) {
	const legacy = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b" // DRF docs' example key
	ctx := context.Background()
	for _, accept := range []bool{false, true} {
		// The key is stored by an importer that accepts it; the
		// Authenticator under test shares its store.
		importer, s := tokenauthtest.New(t, tokenauth.Options{AcceptLegacyKeys: true})
		_, err := importer.Import(ctx, legacy, "1", tokenauth.IssueOptions{Name: "drf", CreatedAt: time.Now()})
		require.NoError(t, err)
		a, err := tokenauth.New(s, tokenauth.Options{AcceptLegacyKeys: accept})
		require.NoError(t, err)
		p, err := a.Verify(ctx, legacy)
		if accept {
			require.NoError(t, err)
			assert.Equal(t, "1", p.Token.UserID)
		} else {
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
		}
	}
}

func TestImport(t *testing.T) {
	const (
		drfKey  = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
		uuidKey = "0b6f1c2e-8a4d-4f3e-9c1b-2d3e4f5a6b7c"
	)
	ctx := context.Background()
	created := time.Date(2019, 5, 6, 7, 8, 9, 123456000, time.UTC)
	cases := []struct {
		name    string
		opts    tokenauth.Options
		key     string
		refused bool
	}{
		{"DRF key refused by default", tokenauth.Options{}, drfKey, true},
		{"DRF key with AcceptLegacyKeys", tokenauth.Options{AcceptLegacyKeys: true}, drfKey, false},
		{"DRF key with AcceptUUIDKeys only", tokenauth.Options{AcceptUUIDKeys: true}, drfKey, true},
		{"UUID key refused by default", tokenauth.Options{}, uuidKey, true},
		{"UUID key with AcceptUUIDKeys", tokenauth.Options{AcceptUUIDKeys: true}, uuidKey, false},
		{"UUID key with AcceptLegacyKeys only", tokenauth.Options{AcceptLegacyKeys: true}, uuidKey, true},
		{"junk", tokenauth.Options{AcceptLegacyKeys: true, AcceptUUIDKeys: true}, "not-a-key", true},
		{"empty", tokenauth.Options{AcceptLegacyKeys: true, AcceptUUIDKeys: true}, "", true},
		{"upper-case DRF key", tokenauth.Options{AcceptLegacyKeys: true}, strings.ToUpper(drfKey), true},
		{"tokenauth key from elsewhere", tokenauth.Options{}, "OWN", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, s := newMem(t, tc.opts)
			key := tc.key
			if key == "OWN" {
				key = unknownKey(t)
			}
			tok, err := a.Import(ctx, key, "u1", tokenauth.IssueOptions{Name: "imported", Scopes: []string{"read"}, CreatedAt: created})
			if tc.refused {
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
				assert.Nil(t, tok)
				assert.Zero(t, s.Len(), "nothing stored")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "u1", tok.UserID)
			assert.Equal(t, "imported", tok.Name)
			assert.Equal(t, []string{"read"}, tok.Scopes)
			assert.Equal(t, created, tok.CreatedAt, "the original creation time is kept")
			assert.Equal(t, tokenauth.SHA256.Digest(key), tok.Digest)

			p, err := a.Verify(ctx, key)
			require.NoError(t, err, "the imported key authenticates")
			assert.Equal(t, tok.ID, p.Token.ID)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Token "+key)
			assert.Equal(t, "u1", serve(a.Require()(whoami), r).Body.String())

			_, err = a.Import(ctx, key, "u2", tokenauth.IssueOptions{})
			assert.ErrorIs(t, err, tokenauth.ErrExists, "a second import of the same key")
			assert.Equal(t, 1, s.Len())
		})
	}

	t.Run("expiry counts from the import", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, _ := tokenauthtest.New(t, tokenauth.Options{AcceptLegacyKeys: true, Now: c.Now})
		tok, err := a.Import(ctx, drfKey, "u1", tokenauth.IssueOptions{TTL: time.Hour})
		require.NoError(t, err)
		assert.Equal(t, c.Now(), tok.CreatedAt, "zero created means now")
		assert.Equal(t, c.Now().Add(time.Hour), tok.MaxExpiresAt)
		c.Advance(time.Hour)
		_, err = a.Verify(ctx, drfKey)
		assert.ErrorIs(t, err, tokenauth.ErrExpired)
	})
}

func TestAbsoluteExpiry(t *testing.T) {
	c := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, DefaultTTL: time.Hour})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(time.Hour), tok.ExpiresAt)
	assert.Equal(t, c.Now().Add(time.Hour), tok.MaxExpiresAt)
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
	c := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, IdleTimeout: 10 * time.Minute, TouchInterval: time.Minute})
	ctx := context.Background()
	key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(10*time.Minute), tok.ExpiresAt)
	assert.True(t, tok.MaxExpiresAt.IsZero(), "no TTL, no absolute deadline")

	// Used every 9 minutes, it lives on long past its first expiry.
	for i := 0; i < 5; i++ {
		c.Advance(9 * time.Minute)
		p, err := a.Verify(ctx, key)
		require.NoError(t, err, "use %d", i)
		assert.True(t, p.Token.ExpiresAt.After(c.Now()))
		tokenauth.FlushUses(a) // the background write, within a second
	}
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c.Now().Add(10*time.Minute), p.Token.ExpiresAt)

	// Idle for longer than the timeout, it expires.
	c.Advance(10 * time.Minute)
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)
}

// A token issued with a TTL keeps that absolute lifetime under
// IdleTimeout: sliding moves ExpiresAt forward on each use, but never past
// MaxExpiresAt.
func TestIdleTimeoutKeepsAbsoluteLifetime(t *testing.T) {
	c := tokenauthtest.NewClock()
	store := &touchCounter{Store: memstore.New()}
	a, err := tokenauth.New(store, tokenauth.Options{Now: c.Now, IdleTimeout: 2 * time.Second, TouchInterval: 500 * time.Millisecond})
	require.NoError(t, err)
	ctx := context.Background()
	issued := c.Now()
	key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: 3 * time.Second})
	require.NoError(t, err)
	deadline := issued.Add(3 * time.Second)
	assert.Equal(t, deadline, tok.MaxExpiresAt)
	assert.Equal(t, issued.Add(2*time.Second), tok.ExpiresAt, "idle expiry first")

	// Used every half second: each use slides the expiry, up to 3 s.
	for c.Now().Before(deadline) {
		_, err := a.Verify(ctx, key)
		require.NoError(t, err, "at %s", c.Now().Sub(issued))
		tokenauth.FlushUses(a)
		stored, err := store.List(ctx, "1")
		require.NoError(t, err)
		require.Len(t, stored, 1)
		assert.False(t, stored[0].ExpiresAt.After(deadline), "stored ExpiresAt %s is past MaxExpiresAt", stored[0].ExpiresAt.Sub(issued))
		assert.Equal(t, deadline, stored[0].MaxExpiresAt)
		c.Advance(500 * time.Millisecond)
	}
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired, "refused at the absolute deadline, however recently used")
	c.Advance(500 * time.Millisecond)
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)

	written := store.written()
	require.NotEmpty(t, written, "uses were recorded")
	for _, e := range written {
		assert.False(t, e.After(deadline), "Touch asked to write ExpiresAt %s past MaxExpiresAt", e.Sub(issued))
	}
	assert.Equal(t, deadline, written[len(written)-1], "the last uses slide the expiry up to the deadline")
}

func TestLastUsedWrittenOncePerInterval(t *testing.T) {
	c := tokenauthtest.NewClock()
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
	assert.EqualValues(t, 0, store.touches.Load(), "no write in the request path")
	tokenauth.FlushUses(a)
	assert.EqualValues(t, 1, store.touches.Load(), "50 concurrent requests, one write")

	c.Advance(30 * time.Second)
	for i := 0; i < 10; i++ {
		_, err := a.Verify(ctx, key)
		require.NoError(t, err)
	}
	tokenauth.FlushUses(a)
	assert.EqualValues(t, 1, store.touches.Load(), "no write within the interval")

	c.Advance(31 * time.Second)
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	tokenauth.FlushUses(a)
	assert.EqualValues(t, 2, store.touches.Load(), "one write once the interval has passed")
	p, err = a.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c.Now(), p.Token.LastUsedAt)
	assert.True(t, p.Token.ExpiresAt.IsZero(), "a use does not make a never-expiring token expire")

	// Tracking off: never written.
	off := &touchCounter{Store: memstore.New()}
	b, err := tokenauth.New(off, tokenauth.Options{TouchInterval: -1})
	require.NoError(t, err)
	k := tokenauthtest.Issue(t, b, "1")
	for i := 0; i < 3; i++ {
		_, err := b.Verify(ctx, k)
		require.NoError(t, err)
	}
	require.NoError(t, b.Close())
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
	tokenauth.FlushUses(a)
	_, err = a.Verify(ctx, key)
	require.NoError(t, err)
	tokenauth.FlushUses(a)
	assert.EqualValues(t, 2, store.touches.Load(), "a failed write is retried by the next request")
	assert.Contains(t, logs.String(), "disk full")
	assert.NotContains(t, logs.String(), key)

	// A use of a token revoked before the write is dropped quietly, and
	// never brings the token back.
	mem := memstore.New()
	b, err := tokenauth.New(mem, tokenauth.Options{Logger: logger})
	require.NoError(t, err)
	k2, tok, err := b.Issue(ctx, "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	_, err = b.Verify(ctx, k2)
	require.NoError(t, err)
	require.NoError(t, b.Revoke(ctx, tok.ID))
	before := logs.String()
	require.NoError(t, b.Close(), "Close writes what is pending")
	assert.Equal(t, before, logs.String())
	assert.Zero(t, mem.Len())
}

// Close writes every pending use: a graceful shutdown loses none.
func TestCloseFlushesUses(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	store := &touchCounter{Store: memstore.New()}
	a, err := tokenauth.New(store, tokenauth.Options{Now: c.Now, TouchInterval: time.Hour})
	require.NoError(t, err)
	for i := range 20 {
		key := tokenauthtest.Issue(t, a, strconv.Itoa(i))
		_, err := a.Verify(ctx, key)
		require.NoError(t, err)
	}
	assert.Zero(t, store.touches.Load())
	require.NoError(t, a.Close())
	assert.EqualValues(t, 20, store.touches.Load())
	require.NoError(t, a.Close(), "Close twice is harmless")
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
	p, err := a.Verify(ctx, key)
	require.NoError(t, err)
	cause := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	s.SetErr(cause)

	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, tokenauth.ErrInvalidToken, "an outage must never look like a bad token")
	status, detail := tokenauth.Classify(err)
	assert.Equal(t, 503, status)
	assert.NotContains(t, detail, "refused")

	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{})
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, err = a.Import(ctx, unknownKey(t), "1", tokenauth.IssueOptions{})
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, a.Revoke(ctx, "x"), tokenauth.ErrUnavailable)
	_, err = a.RevokeAll(ctx, "1")
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, err = a.RevokeOthers(ctx, p.Token)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, err = a.List(ctx, "1")
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, _, err = a.Rotate(ctx, p.Token, 0)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)

	assert.Contains(t, logs.String(), "connection refused")
	assert.NotContains(t, logs.String(), key)
	assert.NotContains(t, logs.String(), key[4:])

	s.SetErr(nil)
	_, err = a.Verify(ctx, key)
	assert.NoError(t, err)
}

// Every store and UserLoader call is bounded by StoreTimeout, so that a
// frozen database answers clients with 503 instead of hanging them.
func TestStoreTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	const limit = time.Second // what "promptly" means on a loaded machine
	ctx := context.Background()

	// setup returns an Authenticator whose store stalls in ops, and a key
	// for user "1" already stored.
	setup := func(t *testing.T, opts tokenauth.Options, ops ...string) (*tokenauth.Authenticator, string) {
		mem := memstore.New()
		issuer, err := tokenauth.New(mem, tokenauth.Options{})
		require.NoError(t, err)
		key := tokenauthtest.Issue(t, issuer, "1")
		tokenauthtest.Issue(t, issuer, "1")
		opts.StoreTimeout, opts.Logger = timeout, quiet
		a, err := tokenauth.New(newStallStore(t, mem, ops...), opts)
		require.NoError(t, err)
		return a, key
	}
	wantTimeout := func(t *testing.T, err error, elapsed time.Duration) {
		t.Helper()
		assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, elapsed, limit)
	}
	type result struct {
		err     error
		elapsed time.Duration
	}
	timed := func(f func() error) func() result {
		return func() result {
			start := time.Now()
			err := f()
			return result{err, time.Since(start)}
		}
	}
	served := func(t *testing.T, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
		t.Helper()
		start := time.Now()
		rec := within(t, 3*time.Second, func() *httptest.ResponseRecorder { return serve(h, r) })
		assert.Less(t, time.Since(start), limit)
		return rec
	}
	want503 := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.JSONEq(t, `{"detail":"Authentication service temporarily unavailable, try again later."}`, rec.Body.String())
	}
	post := func(path, key string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Header.Set("Authorization", "Token "+key)
		return r
	}

	t.Run("protected request", func(t *testing.T) {
		a, key := setup(t, tokenauth.Options{}, "Find")
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Token "+key)
		want503(t, served(t, a.Require()(whoami), r))
		res := within(t, 3*time.Second, timed(func() error { _, err := a.Verify(ctx, key); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("user loader", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		a, key := setup(t, tokenauth.Options{UserLoader: func(ctx context.Context, _ string) (any, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
				return nil, errReleased
			}
		}})
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Token "+key)
		want503(t, served(t, a.Require()(whoami), r))
	})
	t.Run("recording a use", func(t *testing.T) {
		// A stalled bookkeeping write gives up in time, and the valid token
		// is still accepted.
		a, key := setup(t, tokenauth.Options{}, "Touch")
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Token "+key)
		rec := served(t, a.Require()(whoami), r)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "1", rec.Body.String())
	})
	t.Run("Issue", func(t *testing.T) {
		a, _ := setup(t, tokenauth.Options{}, "Create")
		res := within(t, 3*time.Second, timed(func() error { _, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{}); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("Import", func(t *testing.T) {
		a, _ := setup(t, tokenauth.Options{}, "Create")
		other := unknownKey(t)
		res := within(t, 3*time.Second, timed(func() error { _, err := a.Import(ctx, other, "1", tokenauth.IssueOptions{}); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("Revoke", func(t *testing.T) {
		a, _ := setup(t, tokenauth.Options{}, "Delete")
		res := within(t, 3*time.Second, timed(func() error { return a.Revoke(ctx, "some-id") }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("RevokeAll", func(t *testing.T) {
		a, _ := setup(t, tokenauth.Options{}, "DeleteUser")
		res := within(t, 3*time.Second, timed(func() error { _, err := a.RevokeAll(ctx, "1"); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("List", func(t *testing.T) {
		a, _ := setup(t, tokenauth.Options{}, "List")
		res := within(t, 3*time.Second, timed(func() error { _, err := a.List(ctx, "1"); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("RevokeOthers", func(t *testing.T) {
		a, key := setup(t, tokenauth.Options{}, "DeleteUser")
		p, err := a.Verify(ctx, key)
		require.NoError(t, err)
		res := within(t, 3*time.Second, timed(func() error { _, err := a.RevokeOthers(ctx, p.Token); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	t.Run("Rotate", func(t *testing.T) {
		a, key := setup(t, tokenauth.Options{}, "Create")
		p, err := a.Verify(ctx, key)
		require.NoError(t, err)
		res := within(t, 3*time.Second, timed(func() error { _, _, err := a.Rotate(ctx, p.Token, 0); return err }))
		wantTimeout(t, res.err, res.elapsed)
	})
	for _, tc := range []struct {
		name, op string
		handler  func(a *tokenauth.Authenticator) http.Handler
	}{
		{"logout", "Delete", (*tokenauth.Authenticator).LogoutHandler},
		{"logout all", "DeleteUser", (*tokenauth.Authenticator).LogoutAllHandler},
		{"logout others", "DeleteUser", (*tokenauth.Authenticator).LogoutOthersHandler},
		{"logout, lookup", "Find", (*tokenauth.Authenticator).LogoutHandler},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, key := setup(t, tokenauth.Options{}, tc.op)
			want503(t, served(t, tc.handler(a), post("/logout/", key)))
		})
	}
}

// deadlineStore records how far off the deadline of each call's context
// was when the call was made; zero means no deadline.
type deadlineStore struct {
	tokenauth.Store
	mu   sync.Mutex
	left map[string]time.Duration
}

func (s *deadlineStore) record(ctx context.Context, op string) {
	var left time.Duration
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left == nil {
		s.left = map[string]time.Duration{}
	}
	s.left[op] = left
}

func (s *deadlineStore) Create(ctx context.Context, t *tokenauth.Token) error {
	s.record(ctx, "Create")
	return s.Store.Create(ctx, t)
}

func (s *deadlineStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	s.record(ctx, "Find")
	return s.Store.Find(ctx, digest)
}

func (s *deadlineStore) Delete(ctx context.Context, id string) error {
	s.record(ctx, "Delete")
	return s.Store.Delete(ctx, id)
}

func (s *deadlineStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	s.record(ctx, "DeleteUser")
	return s.Store.DeleteUser(ctx, userID, before, keep...)
}

func (s *deadlineStore) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	s.record(ctx, "List")
	return s.Store.List(ctx, userID)
}

func (s *deadlineStore) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	s.record(ctx, "Touch")
	return s.Store.Touch(ctx, uses)
}

func (s *deadlineStore) Expire(ctx context.Context, id string, at time.Time) error {
	s.record(ctx, "Expire")
	return s.Store.Expire(ctx, id, at)
}

func TestStoreTimeoutDefault(t *testing.T) {
	ctx := context.Background()
	exercise := func(t *testing.T, opts tokenauth.Options) map[string]time.Duration {
		s := &deadlineStore{Store: memstore.New()}
		var loader time.Duration
		opts.UserLoader = func(ctx context.Context, _ string) (any, error) {
			if d, ok := ctx.Deadline(); ok {
				loader = time.Until(d)
			}
			return "user", nil
		}
		a, err := tokenauth.New(s, opts)
		require.NoError(t, err)
		key, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{})
		require.NoError(t, err)
		_, err = a.Verify(ctx, key) // Find, loader, and a use to write
		require.NoError(t, err)
		tokenauth.FlushUses(a) // Touch, in the background
		_, err = a.List(ctx, "1")
		require.NoError(t, err)
		require.NoError(t, a.Revoke(ctx, tok.ID))
		_, err = a.RevokeAll(ctx, "1")
		require.NoError(t, err)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.left["UserLoader"] = loader
		return s.left
	}

	t.Run("zero means 5 s", func(t *testing.T) {
		left := exercise(t, tokenauth.Options{})
		for _, op := range []string{"Create", "Find", "UserLoader", "Touch", "List", "Delete", "DeleteUser"} {
			require.Contains(t, left, op)
			assert.LessOrEqual(t, left[op], 5*time.Second, op)
			assert.Greater(t, left[op], 4*time.Second, op)
		}
	})
	t.Run("negative means none", func(t *testing.T) {
		left := exercise(t, tokenauth.Options{StoreTimeout: -1})
		for op, d := range left {
			assert.Zero(t, d, "%s had a deadline", op)
		}
		assert.Len(t, left, 7)
	})
	t.Run("set", func(t *testing.T) {
		left := exercise(t, tokenauth.Options{StoreTimeout: time.Minute})
		for op, d := range left {
			assert.Greater(t, d, 50*time.Second, op)
			assert.LessOrEqual(t, d, time.Minute, op)
		}
	})
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

func TestList(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
	var ids []string
	for _, name := range []string{"laptop", "phone", "ci"} {
		_, tok, err := a.Issue(ctx, "1", tokenauth.IssueOptions{Name: name})
		require.NoError(t, err)
		ids = append(ids, tok.ID)
		c.Advance(time.Second)
	}
	tokenauthtest.Issue(t, a, "2")

	tokens, err := a.List(ctx, "1")
	require.NoError(t, err)
	var got []string
	for _, tok := range tokens {
		got = append(got, tok.ID)
		assert.Equal(t, "1", tok.UserID)
	}
	assert.Equal(t, ids, got, "the user's tokens, oldest first")

	tokens, err = a.List(ctx, "nobody")
	require.NoError(t, err)
	assert.Empty(t, tokens)
}

func TestRevokeOthers(t *testing.T) {
	ctx := context.Background()
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	keep := tokenauthtest.Issue(t, a, "1")
	others := []string{tokenauthtest.Issue(t, a, "1"), tokenauthtest.Issue(t, a, "1")}
	theirs := tokenauthtest.Issue(t, a, "2")
	p, err := a.Verify(ctx, keep)
	require.NoError(t, err)

	n, err := a.RevokeOthers(ctx, p.Token)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = a.Verify(ctx, keep)
	assert.NoError(t, err, "the presenting token is kept")
	for _, k := range others {
		_, err := a.Verify(ctx, k)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	}
	_, err = a.Verify(ctx, theirs)
	assert.NoError(t, err, "another user's token survives")

	n, err = a.RevokeOthers(ctx, p.Token)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to revoke")
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	a, s := newMem(t, tokenauth.Options{Now: c.Now})
	oldKey, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{Name: "ci", Scopes: []string{"deploy"}})
	require.NoError(t, err)
	c.Advance(30 * time.Minute)
	p, err := a.Verify(ctx, oldKey)
	require.NoError(t, err)

	newKey, tok, err := a.Rotate(ctx, p.Token, 0)
	require.NoError(t, err)
	assert.NotEqual(t, oldKey, newKey)
	assert.NotEqual(t, p.Token.ID, tok.ID)
	assert.Equal(t, "1", tok.UserID)
	assert.Equal(t, "ci", tok.Name)
	assert.Equal(t, []string{"deploy"}, tok.Scopes)
	assert.Equal(t, c.Now(), tok.CreatedAt)
	_, err = a.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, newKey)
	assert.NoError(t, err)

	// Rotating a revoked token yields nothing and leaves nothing behind.
	before := s.Len()
	_, _, err = a.Rotate(ctx, p.Token, 0)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	assert.Equal(t, before, s.Len())
	_, _, err = a.Rotate(ctx, nil, 0)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
}

// Rotation never lengthens a token's life: an absolute deadline carries
// over exactly, an idle-expiring token gets now+IdleTimeout, and a token
// that never expires keeps never expiring.
func TestRotateKeepsExpiryPolicy(t *testing.T) {
	ctx := context.Background()

	t.Run("idle token", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, IdleTimeout: 2 * time.Second, TouchInterval: 500 * time.Millisecond})
		key := tokenauthtest.Issue(t, a, "1")
		var p tokenauth.Principal
		for i := 0; i < 16; i++ { // used for 8 s
			c.Advance(500 * time.Millisecond)
			var err error
			p, err = a.Verify(ctx, key)
			require.NoError(t, err)
			tokenauth.FlushUses(a)
		}
		_, tok, err := a.Rotate(ctx, p.Token, 0)
		require.NoError(t, err)
		assert.Equal(t, c.Now().Add(2*time.Second), tok.ExpiresAt, "now+IdleTimeout, not the age of the old token")
		assert.True(t, tok.MaxExpiresAt.IsZero())
	})
	t.Run("absolute token", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
		key, old, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Hour})
		require.NoError(t, err)
		c.Advance(30 * time.Minute)
		p, err := a.Verify(ctx, key)
		require.NoError(t, err)
		newKey, tok, err := a.Rotate(ctx, p.Token, 0)
		require.NoError(t, err)
		assert.Equal(t, old.MaxExpiresAt, tok.MaxExpiresAt, "the deadline carries over")
		assert.Equal(t, old.MaxExpiresAt, tok.ExpiresAt)
		c.Advance(30 * time.Minute)
		_, err = a.Verify(ctx, newKey)
		assert.ErrorIs(t, err, tokenauth.ErrExpired, "the new token dies with the old one's deadline")
	})
	t.Run("absolute token under IdleTimeout", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now, IdleTimeout: 10 * time.Minute})
		key, old, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Hour})
		require.NoError(t, err)
		c.Advance(5 * time.Minute)
		p, err := a.Verify(ctx, key)
		require.NoError(t, err)
		_, tok, err := a.Rotate(ctx, p.Token, 0)
		require.NoError(t, err)
		assert.Equal(t, old.MaxExpiresAt, tok.MaxExpiresAt)
		assert.Equal(t, c.Now().Add(10*time.Minute), tok.ExpiresAt)

		// Close to the deadline, the idle expiry stops at it.
		key2, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Hour})
		require.NoError(t, err)
		for i := 0; i < 11; i++ { // in use for 55 min
			c.Advance(5 * time.Minute)
			p, err = a.Verify(ctx, key2)
			require.NoError(t, err)
			tokenauth.FlushUses(a)
		}
		_, tok, err = a.Rotate(ctx, p.Token, 0)
		require.NoError(t, err)
		assert.Equal(t, p.Token.MaxExpiresAt, tok.ExpiresAt, "not now+IdleTimeout, past the deadline")
	})
	t.Run("never-expiring token", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
		key := tokenauthtest.Issue(t, a, "1")
		c.Advance(1000 * time.Hour)
		p, err := a.Verify(ctx, key)
		require.NoError(t, err)
		_, tok, err := a.Rotate(ctx, p.Token, 0)
		require.NoError(t, err)
		assert.True(t, tok.ExpiresAt.IsZero())
		assert.True(t, tok.MaxExpiresAt.IsZero())
	})
	t.Run("record without MaxExpiresAt", func(t *testing.T) {
		// A record written before MaxExpiresAt existed: its expiry is its
		// deadline.
		c := tokenauthtest.NewClock()
		a, s := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})
		old := &tokenauth.Token{ID: "legacy-record", UserID: "1", CreatedAt: c.Now().Add(-time.Hour),
			ExpiresAt: c.Now().Add(time.Hour), Digest: tokenauth.SHA256.Digest("an old key")}
		require.NoError(t, s.Create(ctx, old.Clone()))
		_, tok, err := a.Rotate(ctx, old, 0)
		require.NoError(t, err)
		assert.Equal(t, old.ExpiresAt, tok.ExpiresAt, "not the old lifetime counted from now")
	})
	t.Run("expired token", func(t *testing.T) {
		c := tokenauthtest.NewClock()
		a, s := newMem(t, tokenauth.Options{Now: c.Now})
		_, old, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Minute})
		require.NoError(t, err)
		c.Advance(time.Minute)
		_, _, err = a.Rotate(ctx, old, 0)
		assert.ErrorIs(t, err, tokenauth.ErrExpired)
		assert.Equal(t, 1, s.Len(), "nothing issued")
	})
}

// With a grace period the old key keeps working for a while, so that
// clients holding it can switch over, but never past its own expiry.
func TestRotateGrace(t *testing.T) {
	ctx := context.Background()
	c := tokenauthtest.NewClock()
	a, _ := tokenauthtest.New(t, tokenauth.Options{Now: c.Now})

	oldKey := tokenauthtest.Issue(t, a, "1", "read")
	p, err := a.Verify(ctx, oldKey)
	require.NoError(t, err)
	newKey, tok, err := a.Rotate(ctx, p.Token, time.Minute)
	require.NoError(t, err)
	assert.True(t, tok.ExpiresAt.IsZero(), "the new token keeps the old one's policy")
	c.Advance(59 * time.Second)
	_, err = a.Verify(ctx, oldKey)
	assert.NoError(t, err, "within the grace period")
	c.Advance(time.Second)
	_, err = a.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, tokenauth.ErrExpired, "after it")
	q, err := a.Verify(ctx, newKey)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, q.Token.Scopes)

	// Grace never lengthens the old token's life.
	shortKey, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: 30 * time.Second})
	require.NoError(t, err)
	p, err = a.Verify(ctx, shortKey)
	require.NoError(t, err)
	_, _, err = a.Rotate(ctx, p.Token, time.Hour)
	require.NoError(t, err)
	c.Advance(30 * time.Second)
	_, err = a.Verify(ctx, shortKey)
	assert.ErrorIs(t, err, tokenauth.ErrExpired)

	// A token revoked meanwhile is not brought back by a grace period.
	goneKey := tokenauthtest.Issue(t, a, "1")
	p, err = a.Verify(ctx, goneKey)
	require.NoError(t, err)
	require.NoError(t, a.Revoke(ctx, p.Token.ID))
	_, _, err = a.Rotate(ctx, p.Token, time.Minute)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = a.Verify(ctx, goneKey)
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
}
