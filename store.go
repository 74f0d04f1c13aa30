package tokenauth

import (
	"context"
	"time"
)

// Store keeps token records. It is small enough to implement over a host's
// own ORM in an hour; tokenauthtest.RunStoreTests checks an implementation
// against the behaviour every store in this module shares.
//
// Error contract, on every method: ErrNotFound (possibly wrapped) means the
// token does not exist; any other error means the store could not answer
// (a network, database or timeout fault), and the Authenticator turns it
// into a 503, never into "invalid token". Every method must honour ctx.
//
// Records returned by a Store may be shared with other goroutines and are
// treated as read-only by the Authenticator; a Store must not modify a
// record after returning it (replace it instead).
type Store interface {
	// Create stores a new token. The record is owned by the store after the
	// call. It returns ErrExists if a token with the same ID or Digest is
	// already stored.
	Create(ctx context.Context, t *Token) error

	// Find returns the token with the given digest, or ErrNotFound. It
	// returns expired tokens too: expiry is the Authenticator's decision.
	// Find must not retain digest.
	Find(ctx context.Context, digest []byte) (*Token, error)

	// Delete removes the token with the given ID, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error

	// DeleteUser removes every token of the user and returns how many it
	// removed (zero is not an error).
	DeleteUser(ctx context.Context, userID string) (int, error)

	// List returns the user's tokens, oldest first (by CreatedAt, then ID);
	// an empty list is not an error.
	List(ctx context.Context, userID string) ([]*Token, error)

	// Touch records a use of the token with the given ID: LastUsedAt
	// becomes lastUsed and, when the token has an expiry, ExpiresAt becomes
	// expiresAt (a zero expiresAt leaves it alone, and a token that never
	// expires keeps never expiring). Neither moves backwards: concurrent
	// touches in any order leave the latest values. It returns ErrNotFound
	// if the token is gone, and never recreates a deleted token.
	Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error
}

// ExpiredDeleter is implemented by stores that can purge expired tokens in
// bulk, for a periodic clean-up job. Stores with native expiry (Redis) need
// not implement it.
type ExpiredDeleter interface {
	// DeleteExpired removes every token whose ExpiresAt is set and not after
	// before, and returns how many it removed.
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// Expirer is implemented by stores that can bring a token's expiry
// forward, for Rotate's grace period: ExpiresAt and MaxExpiresAt become at
// where they are later or unset. It returns ErrNotFound if the token is
// gone. Rotate falls back to replacing the record on other stores, and
// when Expire returns an error wrapping errors.ErrUnsupported (a store
// that wraps one without Expirer).
type Expirer interface {
	Expire(ctx context.Context, id string, at time.Time) error
}

// Watcher is implemented by stores that tell every process when a token
// is revoked or its expiry brought forward, by anyone: another replica,
// the CLI, plain SQL. A cache in front of the store (package cachestore)
// watches so that a revocation reaches every replica at once, not after
// the cache's TTL.
type Watcher interface {
	// Watch calls ready once it is subscribed, then changed with the ID
	// and user ID of every token deleted or expired early, until ctx ends
	// or the connection breaks; it returns the error that ended it (ctx's
	// error when ctx ended). Events missed while no Watch runs are lost:
	// a caller that watches again must assume anything changed.
	Watch(ctx context.Context, ready func(), changed func(tokenID, userID string)) error
}

// TokenUse is one recorded use of a token: the arguments of Store.Touch.
type TokenUse struct {
	ID                  string
	LastUsed, ExpiresAt time.Time
}

// BatchToucher is implemented by stores that record many uses in one round
// trip (one UPDATE over a list of values, one pipeline). The Authenticator
// writes uses in the background, in batches; with this it sends each batch
// at once instead of a Touch per token. Each use follows Touch's contract;
// tokens that are gone are skipped, not an error.
type BatchToucher interface {
	TouchBatch(ctx context.Context, uses []TokenUse) error
}
