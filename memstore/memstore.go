// Package memstore is an in-memory tokenauth.Store for tests, examples and
// single-process services. Tokens are lost when the process exits.
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Store is a concurrency-safe in-memory tokenauth.Store. The zero value is
// not usable; call New.
type Store struct {
	mu       sync.RWMutex
	byDigest map[string]*tokenauth.Token
	byID     map[string]*tokenauth.Token
	byUser   map[string]map[string]struct{}
}

var _ tokenauth.Store = (*Store)(nil)
var _ tokenauth.ExpiredDeleter = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		byDigest: make(map[string]*tokenauth.Token),
		byID:     make(map[string]*tokenauth.Token),
		byUser:   make(map[string]map[string]struct{}),
	}
}

// Create stores a copy of t; it returns tokenauth.ErrExists for a
// duplicate ID or digest.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := t.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[c.ID]; ok {
		return tokenauth.ErrExists
	}
	if _, ok := s.byDigest[string(c.Digest)]; ok {
		return tokenauth.ErrExists
	}
	s.byID[c.ID] = c
	s.byDigest[string(c.Digest)] = c
	ids := s.byUser[c.UserID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.byUser[c.UserID] = ids
	}
	ids[c.ID] = struct{}{}
	return nil
}

// Find returns the stored record for digest. Records are replaced, never
// modified, so the returned pointer stays consistent.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	t, ok := s.byDigest[string(digest)]
	s.mu.RUnlock()
	if !ok {
		return nil, tokenauth.ErrNotFound
	}
	return t, nil
}

// Delete removes the token with the given ID.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[id]
	if !ok {
		return tokenauth.ErrNotFound
	}
	s.remove(t)
	return nil
}

func (s *Store) remove(t *tokenauth.Token) {
	delete(s.byID, t.ID)
	delete(s.byDigest, string(t.Digest))
	if ids := s.byUser[t.UserID]; ids != nil {
		delete(ids, t.ID)
		if len(ids) == 0 {
			delete(s.byUser, t.UserID)
		}
	}
}

// DeleteUser removes every token of userID.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.byUser[userID]
	n := len(ids)
	for id := range ids {
		s.remove(s.byID[id])
	}
	return n, nil
}

// List returns userID's tokens, oldest first.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]*tokenauth.Token, 0, len(s.byUser[userID]))
	for id := range s.byUser[userID] {
		out = append(out, s.byID[id])
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *tokenauth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// Touch records a use, replacing the record so that readers holding the
// old one are unaffected. ExpiresAt never moves past MaxExpiresAt, even if
// the caller asks for it.
func (s *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return tokenauth.ErrNotFound
	}
	c := *old
	if lastUsed.After(c.LastUsedAt) {
		c.LastUsedAt = lastUsed
	}
	if !c.MaxExpiresAt.IsZero() && expiresAt.After(c.MaxExpiresAt) {
		expiresAt = c.MaxExpiresAt
	}
	if !c.ExpiresAt.IsZero() && expiresAt.After(c.ExpiresAt) {
		c.ExpiresAt = expiresAt
	}
	s.byID[id] = &c
	s.byDigest[string(c.Digest)] = &c
	return nil
}

// DeleteExpired removes every token that expired at or before before.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.byID {
		if !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(before) {
			s.remove(t)
			n++
		}
	}
	return n, nil
}

// Len returns the number of stored tokens.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}
