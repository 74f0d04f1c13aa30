// Package tokenauthtest helps a host test its own code that uses tokenauth:
// one-line helpers that issue a token and build an authenticated request
// over memstore (the in-memory store), a FailingStore that simulates an
// outage, a Clock, and RunStoreTests, the behavioural suite every Store
// implementation must pass.
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
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// FailingStore wraps a Store so that a test can make every call fail, as a
// database outage does, and count the calls. It is safe for concurrent
// use.
type FailingStore struct {
	store tokenauth.Store
	mu    sync.RWMutex
	err   error
	calls atomic.Int64
}

var _ tokenauth.Store = (*FailingStore)(nil)

// NewFailingStore returns a FailingStore over s that does not fail yet.
func NewFailingStore(s tokenauth.Store) *FailingStore { return &FailingStore{store: s} }

// SetErr makes every following call return err (nil restores normal
// service). Use an error that is not tokenauth.ErrNotFound to simulate an
// outage: the Authenticator answers 503.
func (s *FailingStore) SetErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Calls returns how many store methods have been called.
func (s *FailingStore) Calls() int { return int(s.calls.Load()) }

func (s *FailingStore) fail() error {
	s.calls.Add(1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.err
}

// Create implements tokenauth.Store.
func (s *FailingStore) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.store.Create(ctx, t)
}

// Find implements tokenauth.Store.
func (s *FailingStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.store.Find(ctx, digest)
}

// List implements tokenauth.Store.
func (s *FailingStore) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.store.List(ctx, userID)
}

// Touch implements tokenauth.Store.
func (s *FailingStore) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.store.Touch(ctx, uses)
}

// Expire implements tokenauth.Store.
func (s *FailingStore) Expire(ctx context.Context, id string, at time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.store.Expire(ctx, id, at)
}

// Delete implements tokenauth.Store.
func (s *FailingStore) Delete(ctx context.Context, id string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.store.Delete(ctx, id)
}

// DeleteUser implements tokenauth.Store.
func (s *FailingStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	if err := s.fail(); err != nil {
		return 0, err
	}
	return s.store.DeleteUser(ctx, userID, before, keep...)
}

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// New returns an Authenticator with opts over a fresh memstore.Store, and
// the FailingStore in front of it that switches outages on, failing the
// test if opts are invalid.
func New(t TB, opts tokenauth.Options) (*tokenauth.Authenticator, *FailingStore) {
	t.Helper()
	s := NewFailingStore(memstore.New())
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
