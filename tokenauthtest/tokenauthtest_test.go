package tokenauthtest_test

import (
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// A FailingStore that does not fail is the Store it wraps.
func TestFailingStore(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store { return tokenauthtest.NewFailingStore(memstore.New()) })
}
