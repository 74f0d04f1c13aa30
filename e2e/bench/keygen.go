package bench

import (
	"context"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// keygen issues well-formed keys that no store keeps: what a client holds,
// for the modes that check keys themselves and for unknown-key probes.
var keygen, _ = tokenauth.New(discardStore{}, tokenauth.Options{})

func newKey() (string, error) {
	key, _, err := keygen.Issue(context.Background(), "bench", tokenauth.IssueOptions{})
	return key, err
}

// discardStore keeps nothing.
type discardStore struct{}

func (discardStore) Create(context.Context, *tokenauth.Token) error { return nil }
func (discardStore) Find(context.Context, []byte) (*tokenauth.Token, error) {
	return nil, tokenauth.ErrNotFound
}
func (discardStore) Delete(context.Context, string) error { return tokenauth.ErrNotFound }
func (discardStore) DeleteUser(context.Context, string, time.Time, ...string) (int, error) {
	return 0, nil
}
func (discardStore) List(context.Context, string) ([]*tokenauth.Token, error) { return nil, nil }
func (discardStore) Touch(context.Context, []tokenauth.TokenUse) error        { return nil }
func (discardStore) Expire(context.Context, string, time.Time) error          { return tokenauth.ErrNotFound }
