package tokenauthtest_test

import (
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// The fake store is a Store like any other.
func TestFakeStore(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store { return tokenauthtest.NewStore() })
}
