package tokenauth

import (
	"context"
	"time"
)

// observedStore tells Options.OnStoreCall of every call to the Store it
// wraps. The Authenticator puts it in front of its store only when the
// hook is set, so that without one a call costs nothing more.
type observedStore struct {
	Store
	hook func(ctx context.Context, op string, took time.Duration, err error)
}

func (s observedStore) done(ctx context.Context, op string, start time.Time, err error) {
	s.hook(ctx, op, time.Since(start), err)
}

func (s observedStore) Create(ctx context.Context, t *Token) error {
	start := time.Now()
	err := s.Store.Create(ctx, t)
	s.done(ctx, "create", start, err)
	return err
}

func (s observedStore) Find(ctx context.Context, digest []byte) (*Token, error) {
	start := time.Now()
	t, err := s.Store.Find(ctx, digest)
	s.done(ctx, "find", start, err)
	return t, err
}

func (s observedStore) List(ctx context.Context, userID string) ([]*Token, error) {
	start := time.Now()
	l, err := s.Store.List(ctx, userID)
	s.done(ctx, "list", start, err)
	return l, err
}

func (s observedStore) Touch(ctx context.Context, uses []TokenUse) error {
	start := time.Now()
	err := s.Store.Touch(ctx, uses)
	s.done(ctx, "touch", start, err)
	return err
}

func (s observedStore) Expire(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := s.Store.Expire(ctx, id, at)
	s.done(ctx, "expire", start, err)
	return err
}

func (s observedStore) Delete(ctx context.Context, id string) error {
	start := time.Now()
	err := s.Store.Delete(ctx, id)
	s.done(ctx, "delete", start, err)
	return err
}

func (s observedStore) DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error) {
	start := time.Now()
	n, err := s.Store.DeleteUser(ctx, userID, before, keep...)
	s.done(ctx, "delete_user", start, err)
	return n, err
}

// observeLoader returns load, telling hook of every call.
func observeLoader(load func(context.Context, string) (any, error), hook func(context.Context, string, time.Duration, error)) func(context.Context, string) (any, error) {
	return func(ctx context.Context, userID string) (any, error) {
		start := time.Now()
		u, err := load(ctx, userID)
		hook(ctx, "load_user", time.Since(start), err)
		return u, err
	}
}
