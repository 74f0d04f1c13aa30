package redisstore

import (
	"fmt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/redis/go-redis/v9"
)

// checkClient refuses a client whose set-up would quietly weaken the
// store, so that the mistake shows at start-up rather than in an outage
// or as a revoked token that still works. It knows the clients go-redis
// builds: *redis.Client (NewClient, NewFailoverClient, and
// NewUniversalClient for one address or a MasterName) and
// *redis.ClusterClient (NewClusterClient, NewFailoverClusterClient, and
// NewUniversalClient for several addresses).
func checkClient(c redis.UniversalClient) error {
	switch c := c.(type) {
	case nil:
		return invalid("client is nil")
	case *redis.Client:
		if c == nil {
			return invalid("client is nil")
		}
		o := c.Options()
		if !o.ContextTimeoutEnabled {
			return invalid(noContextTimeout)
		}
		if o.ClientSideCacheConfig != nil || o.ClientSideCache != nil {
			// go-redis would answer Find from its own memory, invalidated
			// by a push that races the store's revocation event: a cache
			// that re-reads a token on the event could read the revoked
			// record there and keep it for its whole TTL.
			return invalid("the client caches replies (ClientSideCacheConfig or ClientSideCache): a revoked token could be read back from it; " +
				"leave it off and put a cachestore in front of the store instead")
		}
	case *redis.ClusterClient:
		if c == nil {
			return invalid("client is nil")
		}
		o := c.Options()
		if !o.ContextTimeoutEnabled {
			return invalid(noContextTimeout)
		}
		if o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			// A replica applies a deletion after its primary: a cache that
			// re-reads a token on the revocation event could read it there
			// and keep it for its whole TTL.
			return invalid("the cluster client reads from replicas (ReadOnly, RouteByLatency or RouteRandomly): " +
				"a token revoked on the primary could still be found on a replica; leave them off")
		}
	case *redis.Ring:
		// A Ring sends a down shard's keys to the others and back when it
		// returns: a token revoked meanwhile would be found again.
		return invalid("a redis.Ring is not supported: when a shard is down its keys move to the others, " +
			"so a token revoked meanwhile reappears when the shard is back; use Redis Cluster")
	default:
		return invalid(fmt.Sprintf("unsupported client type %T: pass a *redis.Client or a *redis.ClusterClient", c))
	}
	return nil
}

// noContextTimeout says what a client without ContextTimeoutEnabled
// breaks, and what to set.
const noContextTimeout = "the client ignores context deadlines, so tokenauth.Options.StoreTimeout and request deadlines would do nothing " +
	"and an outage would hold each request for go-redis's own timeouts and retries; " +
	"set ContextTimeoutEnabled: true in its options (redis.Options, ClusterOptions, FailoverOptions or UniversalOptions)"

func invalid(reason string) error {
	return fmt.Errorf("%w: redisstore: %s", tokenauth.ErrInvalidOptions, reason)
}
