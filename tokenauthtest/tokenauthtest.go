// Package tokenauthtest helps a host test its own code that uses tokenauth:
// a fake Store whose failures can be switched on, one-line helpers that
// issue a token and build an authenticated request, and RunStoreTests, the
// behavioural suite every Store implementation must pass.
//
// It depends only on the standard library and may be imported from any
// _test.go file.
package tokenauthtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
)

// Store is a fake tokenauth.Store for tests: an in-memory store that counts
// calls and can be made to fail, to test how a host behaves during a
// database outage. It is safe for concurrent use.
type Store struct {
	mem   *memstore.Store
	mu    sync.RWMutex
	err   error
	calls atomic.Int64
}

var _ tokenauth.Store = (*Store)(nil)

// NewStore returns an empty fake Store.
func NewStore() *Store { return &Store{mem: memstore.New()} }

// SetErr makes every following call return err (nil restores normal
// service). Use an error that is not tokenauth.ErrNotFound to simulate an
// outage.
func (s *Store) SetErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Calls returns how many store methods have been called.
func (s *Store) Calls() int { return int(s.calls.Load()) }

// Len returns how many tokens are stored.
func (s *Store) Len() int { return s.mem.Len() }

func (s *Store) fail() error {
	s.calls.Add(1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.err
}

// Create implements tokenauth.Store.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.mem.Create(ctx, t)
}

// Find implements tokenauth.Store.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.mem.Find(ctx, digest)
}

// Delete implements tokenauth.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.mem.Delete(ctx, id)
}

// DeleteUser implements tokenauth.Store.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	if err := s.fail(); err != nil {
		return 0, err
	}
	return s.mem.DeleteUser(ctx, userID)
}

// List implements tokenauth.Store.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.mem.List(ctx, userID)
}

// Touch implements tokenauth.Store.
func (s *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.mem.Touch(ctx, id, lastUsed, expiresAt)
}

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// New returns an Authenticator with opts over a fresh fake Store, failing
// the test if opts are invalid.
func New(t TB, opts tokenauth.Options) (*tokenauth.Authenticator, *Store) {
	t.Helper()
	s := NewStore()
	a, err := tokenauth.New(s, opts)
	if err != nil {
		t.Fatalf("tokenauthtest.New: %v", err)
	}
	if len(opts.Keywords) > 0 {
		keywords.Store(a, opts.Keywords[0])
	}
	return a, s
}

// keywords remembers the first keyword of Authenticators made by New, so
// that NewRequest sends the scheme they accept.
var keywords sync.Map // *tokenauth.Authenticator -> string

// Issue issues a token for userID with the given scopes and returns its
// plaintext, failing the test on error.
func Issue(t TB, a *tokenauth.Authenticator, userID string, scopes ...string) string {
	t.Helper()
	key, _, err := a.Issue(context.Background(), userID, tokenauth.IssueOptions{Name: "test", Scopes: scopes})
	if err != nil {
		t.Fatalf("tokenauthtest.Issue: %v", err)
	}
	return key
}

// NewRequest returns an httptest request whose Authorization header carries
// a freshly issued token for userID with the given scopes: the request a
// real client would send through a.Require. The scheme is "Token", or the
// first of Options.Keywords when a was made by New.
func NewRequest(t TB, a *tokenauth.Authenticator, method, target string, body io.Reader, userID string, scopes ...string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	keyword := "Token"
	if k, ok := keywords.Load(a); ok {
		keyword = k.(string)
	}
	r.Header.Set("Authorization", keyword+" "+Issue(t, a, userID, scopes...))
	return r
}

// WithUser returns a copy of r whose context holds a Principal for userID,
// with user and scopes, as if the middleware had authenticated it. Use it
// to unit-test a handler without any store.
func WithUser(r *http.Request, userID string, user any, scopes ...string) *http.Request {
	now := time.Now().UTC()
	tok := &tokenauth.Token{ID: "test-" + userID, UserID: userID, Name: "test", Scopes: scopes, CreatedAt: now, LastUsedAt: now}
	return r.WithContext(tokenauth.NewContext(r.Context(), tokenauth.Principal{Token: tok, User: user}))
}
