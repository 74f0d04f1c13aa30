package memstore_test

import (
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

func TestStore(t *testing.T) {
	tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store { return memstore.New() })
}
