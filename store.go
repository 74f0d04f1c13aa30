package tokenauth

import (
	"context"
	"time"
)

// Store keeps token records: the interface a host implements to keep
// tokens in its own database. tokenauthtest.RunStoreTests checks one.
//
// Errors: ErrNotFound (possibly wrapped) means the token does not exist;
// any other is a fault (network, database, timeout), answered with 503,
// never "invalid token". Every method must honour ctx. Returned records are
// shared and read-only: replace a record, never modify one returned.
//
// Revocation is final: a token is valid only while its record exists, and
// a login checked before DeleteUser cannot store its token after it. Lock
// Create and DeleteUser together, or order them: Create writes then reads
// the cut-off (deleting its write if refused), DeleteUser writes it then
// deletes.
type Store interface {
	// Create stores a new token, which the store then owns. It returns
	// ErrExists if the ID or Digest is stored, and ErrRevoked, storing
	// nothing, if t.CreatedAt is before t.UserID's cut-off.
	Create(ctx context.Context, t *Token) error
	// Find returns the token with the digest, expired or not, or
	// ErrNotFound. It must not retain digest.
	Find(ctx context.Context, digest []byte) (*Token, error)
	// List returns the user's tokens, oldest first (by CreatedAt, then
	// ID); an empty list is not an error.
	List(ctx context.Context, userID string) ([]*Token, error)
	// Touch records uses, in one round trip where it can: LastUsedAt
	// becomes LastUsed and, for a token with an expiry, ExpiresAt the
	// use's non-zero ExpiresAt, never past MaxExpiresAt. Neither moves
	// backwards. Gone tokens are skipped, never recreated, without error.
	Touch(ctx context.Context, uses []TokenUse) error
	// Expire brings ExpiresAt and MaxExpiresAt forward to at where they
	// are later or unset (Rotate's grace), or returns ErrNotFound.
	Expire(ctx context.Context, id string, at time.Time) error
	// Delete removes the token with the given ID, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// DeleteUser raises the user's cut-off to before (never lowering it),
	// then removes their tokens but keep, returning how many (zero: no error).
	DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error)
}

// TokenUse is one recorded use of a token, for Store.Touch.
type TokenUse struct {
	ID                  string
	LastUsed, ExpiresAt time.Time
}
