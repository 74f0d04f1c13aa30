package redisstore_test

import (
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// A service whose replicas share Redis, with a cachestore in each replica so
// that most requests do not reach Redis. It needs a Redis server, so it is
// compiled but not run by go test.
func Example() {
	// NewUniversalClient gives a cluster client for several addresses, or
	// a Sentinel one when MasterName is set.
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"127.0.0.1:6379"},
		ContextTimeoutEnabled: true, // honour tokenauth.Options.StoreTimeout and request deadlines
	})
	defer client.Close()

	store, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:tokens:"})
	if err != nil {
		log.Fatal(err)
	}
	// Revocations made on other replicas are seen here within 10 seconds.
	cache, err := cachestore.New(store, cachestore.Options{TTL: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := tokenauth.New(cache, tokenauth.Options{Keywords: []string{"Bearer"}, DefaultTTL: 30 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /api/me", auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		_, _ = w.Write([]byte("hello " + tok.UserID + "\n"))
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
