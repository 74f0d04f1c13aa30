package cachestore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// The cache goes between the Authenticator and the shared store: repeated
// requests with a token are answered from memory, and a revocation made
// here takes effect at once.
func Example() {
	ctx := context.Background()
	// In production, the store every replica shares: redisstore, or
	// sqlstore with a listener, whose revocation events the cache hears.
	// memstore has none, so the cache must be told to do without them.
	shared := memstore.New()
	cache, err := cachestore.New(shared, cachestore.Options{TTL: 10 * time.Second, AllowStaleRevocations: true})
	if err != nil {
		panic(err)
	}
	defer cache.Close()
	auth, err := tokenauth.New(cache, tokenauth.Options{TouchInterval: -1})
	if err != nil {
		panic(err)
	}
	key, tok, err := auth.Issue(ctx, "alice", tokenauth.IssueOptions{})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := auth.Verify(ctx, key); err != nil {
			panic(err)
		}
	}
	st := cache.Stats()
	fmt.Printf("hits=%d misses=%d\n", st.Hits, st.Misses)

	if err := auth.Revoke(ctx, tok.ID); err != nil {
		panic(err)
	}
	_, err = auth.Verify(ctx, key)
	fmt.Println(err)
	// Output:
	// hits=2 misses=1
	// tokenauth: invalid token
}
