package cachestore

import (
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// NewWithBackoff is New with resubscription delays short enough for tests.
func NewWithBackoff(s tokenauth.Store, opts Options, minBackoff, maxBackoff time.Duration) (*Store, error) {
	return newStore(s, opts, minBackoff, maxBackoff)
}
