// Package memstore is the in-memory tokenauth.Store: use it in tests
// (handler tests, examples) and in single-process services that accept
// losing every token when the process exits.
//
// A token issued by an Authenticator takes about 650 bytes of heap (10⁶ in
// about 650 MB, each of its own user; see TestHeapPerToken).
package memstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Store is a concurrency-safe in-memory tokenauth.Store. The zero value is
// not usable; call New.
//
// Records are never modified once stored: a write replaces a record with
// a changed copy, so that Find can hand out the stored record itself,
// which callers treat as read-only.
type Store struct {
	mu       sync.RWMutex
	byDigest map[string]*tokenauth.Token
	byID     map[string]*tokenauth.Token
	// byUser lists each user's token IDs: a slice, not a map, as most
	// users hold a few tokens, and a map each cost 10⁶ single-token users
	// about 300 bytes a token (TestHeapPerToken).
	byUser  map[string][]string
	cutoffs map[string]time.Time // user ID -> DeleteUser's cut-off
	// swept is the number of tokens held after the last sweep of expired
	// ones; the next sweep comes when that number has doubled.
	swept int
}

var _ tokenauth.Store = (*Store)(nil)

var (
	errNilToken = errors.New("memstore: nil token")
	errZeroTime = errors.New("memstore: Expire needs a non-zero time")
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		byDigest: make(map[string]*tokenauth.Token),
		byID:     make(map[string]*tokenauth.Token),
		byUser:   make(map[string][]string),
		cutoffs:  make(map[string]time.Time),
	}
}

// Create stores a copy of t. It returns tokenauth.ErrExists for a
// duplicate ID or digest, and tokenauth.ErrRevoked for a token created
// before its user's cut-off.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t == nil {
		return errNilToken
	}
	t = t.Clone()
	// Times as SQL stores keep them, so that every store answers alike.
	for _, at := range []*time.Time{&t.CreatedAt, &t.ExpiresAt, &t.MaxExpiresAt, &t.LastUsedAt, &t.NotBefore} {
		*at = micros(*at)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cut, ok := s.cutoffs[t.UserID]; ok && t.CreatedAt.Before(cut) {
		return tokenauth.ErrRevoked
	}
	if s.byID[t.ID] != nil || s.byDigest[string(t.Digest)] != nil {
		return tokenauth.ErrExists
	}
	if len(s.byID) >= 2*max(s.swept, 1024) {
		s.sweep(time.Now())
	}
	s.put(t)
	return nil
}

// put indexes t, replacing the record with its ID if any. s.mu must be
// held for writing.
func (s *Store) put(t *tokenauth.Token) {
	if s.byID[t.ID] == nil {
		s.byUser[t.UserID] = append(s.byUser[t.UserID], t.ID)
	}
	s.byID[t.ID] = t
	s.byDigest[string(t.Digest)] = t
}

// remove unindexes t. s.mu must be held for writing.
func (s *Store) remove(t *tokenauth.Token) {
	delete(s.byID, t.ID)
	delete(s.byDigest, string(t.Digest))
	ids := slices.DeleteFunc(s.byUser[t.UserID], func(id string) bool { return id == t.ID })
	if len(ids) == 0 {
		delete(s.byUser, t.UserID)
	} else {
		s.byUser[t.UserID] = ids
	}
}

// sweep removes the tokens that expired before now, which no check would
// accept any more, so that a long-running process does not keep them for
// ever. s.mu must be held for writing.
func (s *Store) sweep(now time.Time) {
	for _, t := range s.byID {
		if t.Expired(now) {
			s.remove(t)
		}
	}
	s.swept = len(s.byID)
}

// Find returns the token with the given digest.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	t := s.byDigest[string(digest)]
	s.mu.RUnlock()
	if t == nil {
		return nil, tokenauth.ErrNotFound
	}
	return t, nil
}

// List returns userID's tokens, oldest first.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	ids := s.byUser[userID]
	out := make([]*tokenauth.Token, len(ids))
	for i, id := range ids {
		out[i] = s.byID[id]
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *tokenauth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out, nil
}

// micros returns t in UTC, to the microsecond; the zero time stays zero.
func micros(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Touch records uses, skipping tokens that are gone. ExpiresAt never moves
// backwards nor past MaxExpiresAt.
func (s *Store) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range uses {
		u.LastUsed, u.ExpiresAt = micros(u.LastUsed), micros(u.ExpiresAt)
		s.update(u.ID, func(t *tokenauth.Token) {
			if u.LastUsed.After(t.LastUsedAt) {
				t.LastUsedAt = u.LastUsed
			}
			if t.ExpiresAt.IsZero() || !u.ExpiresAt.After(t.ExpiresAt) {
				return
			}
			t.ExpiresAt = u.ExpiresAt
			if !t.MaxExpiresAt.IsZero() && t.ExpiresAt.After(t.MaxExpiresAt) {
				t.ExpiresAt = t.MaxExpiresAt
			}
		})
	}
	return nil
}

// Expire brings the token's ExpiresAt and MaxExpiresAt forward to at where
// they are later or unset.
func (s *Store) Expire(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if at.IsZero() {
		return errZeroTime
	}
	at = micros(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.update(id, func(t *tokenauth.Token) {
		if t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt) {
			t.ExpiresAt = at
		}
		if t.MaxExpiresAt.IsZero() || at.Before(t.MaxExpiresAt) {
			t.MaxExpiresAt = at
		}
	})
	if !found {
		return tokenauth.ErrNotFound
	}
	return nil
}

// update replaces the token with the given ID by a copy that change has
// modified, and reports whether the token exists. s.mu must be held for
// writing.
func (s *Store) update(id string, change func(*tokenauth.Token)) bool {
	t := s.byID[id]
	if t == nil {
		return false
	}
	c := *t // Scopes and Digest are shared: change never modifies them
	change(&c)
	s.put(&c)
	return true
}

// Delete removes the token with the given ID.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[id]
	if t == nil {
		return tokenauth.ErrNotFound
	}
	s.remove(t)
	return nil
}

// DeleteUser raises userID's cut-off to before and removes every token of
// the user but those in keep, under one lock, so that no Create can slip
// between the two.
func (s *Store) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if before.After(s.cutoffs[userID]) {
		s.cutoffs[userID] = before
	}
	n := 0
	for _, id := range slices.Clone(s.byUser[userID]) {
		if !slices.Contains(keep, id) {
			s.remove(s.byID[id])
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
