package tokenauth

import (
	"context"
	"time"
)

// Store keeps token records: the one interface a host implements to keep
// tokens in its own database. tokenauthtest.RunStoreTests checks an
// implementation against the behaviour every store in this module shares.
//
// Error contract, on every method: ErrNotFound (possibly wrapped) means the
// token does not exist; any other error means the store could not answer
// (a network, database or timeout fault), and the Authenticator turns it
// into a 503, never into "invalid token". Every method must honour ctx.
//
// Records returned by a Store may be shared with other goroutines and are
// treated as read-only; a Store must not modify a record after returning
// it (replace it instead).
//
// Revocation is final. A token is valid only while its record exists, so
// deleting is revoking. DeleteUser also leaves a cut-off behind: Create
// refuses a token of that user created before it. A login whose password
// was checked before a password change therefore cannot store its token
// after the change's DeleteUser, whichever runs first. A store makes this
// hold under concurrency either with a lock or transaction around both, or
// by ordering: Create writes the record and then reads the cut-off (and
// deletes what it wrote when refused), while DeleteUser writes the cut-off
// and then deletes. Either way, one of the two sees the other.
type Store interface {
	// Create stores a new token. The record is owned by the store after
	// the call. It returns ErrExists if a token with the same ID or Digest
	// is stored, and ErrRevoked, storing nothing, if t.CreatedAt is before
	// the cut-off a DeleteUser left for t.UserID.
	Create(ctx context.Context, t *Token) error

	// Find returns the token with the given digest, or ErrNotFound. It
	// returns expired tokens too: expiry is the Authenticator's decision.
	// Find must not retain digest.
	Find(ctx context.Context, digest []byte) (*Token, error)

	// List returns the user's tokens, oldest first (by CreatedAt, then
	// ID); an empty list is not an error.
	List(ctx context.Context, userID string) ([]*Token, error)

	// Touch records uses of tokens, in one round trip where the store can.
	// For each use, LastUsedAt becomes LastUsed and, when the token has an
	// expiry, ExpiresAt becomes the use's ExpiresAt (a zero one leaves it
	// alone), never past MaxExpiresAt. Neither moves backwards: concurrent
	// touches in any order leave the latest values. Tokens that are gone
	// are skipped, never recreated, and are not an error.
	Touch(ctx context.Context, uses []TokenUse) error

	// Expire brings a token's expiry forward, for Rotate's grace period:
	// ExpiresAt and MaxExpiresAt become at where they are later or unset.
	// It returns ErrNotFound if the token is gone.
	Expire(ctx context.Context, id string, at time.Time) error

	// Delete removes the token with the given ID, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error

	// DeleteUser removes every token of the user except those whose IDs
	// are in keep, and returns how many it removed (zero is not an
	// error). It first raises the user's cut-off to before (a cut-off
	// never moves back), so that Create refuses the user's tokens created
	// earlier: see the Store documentation.
	DeleteUser(ctx context.Context, userID string, before time.Time, keep ...string) (int, error)
}

// TokenUse is one recorded use of a token, for Store.Touch.
type TokenUse struct {
	ID                  string
	LastUsed, ExpiresAt time.Time
}
