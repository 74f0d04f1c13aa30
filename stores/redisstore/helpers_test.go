package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// backend is a Redis deployment the tests run against, named by an
// environment variable; tests skip, saying which, when it is unset.
type backend struct {
	name, env, want string
}

var (
	single = backend{"single", "TOKENAUTH_TEST_REDIS_ADDR",
		"a Redis address (e.g. 127.0.0.1:6379)"}
	cluster = backend{"cluster", "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS",
		"the comma-separated nodes of a Redis Cluster (.ci/redis-cluster.sh start prints them)"}
)

// eachBackend runs f as one subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range []backend{single, cluster} {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// addrs returns the backend's addresses, or skips the test.
func (b backend) addrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(b.env)
	if v == "" {
		t.Skipf("%s is not set; set it to %s to run the Redis tests on %s", b.env, b.want, b.name)
	}
	return strings.Split(v, ",")
}

// client connects to the backend with a client of its own, closed when
// the test ends, or skips the test.
func (b backend) client(t testing.TB) redis.UniversalClient {
	t.Helper()
	addrs := b.addrs(t)
	var c redis.UniversalClient
	if b == cluster {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	} else {
		c = redis.NewClient(&redis.Options{Addr: addrs[0], ContextTimeoutEnabled: true})
	}
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err(), "Redis at %s=%s", b.env, strings.Join(addrs, ","))
	return c
}

// testClient connects to the single server, or skips the test.
func testClient(t testing.TB) redis.UniversalClient { return single.client(t) }

// testAddr returns the address of the single server, or skips the test.
func testAddr(t testing.TB) string { return single.addrs(t)[0] }

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// forEachMaster runs f on every primary of c: each node of a cluster, or
// c itself.
func forEachMaster(ctx context.Context, c redis.UniversalClient, f func(ctx context.Context, node redis.UniversalClient) error) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return f(ctx, node) })
	}
	return f(ctx, c)
}

// keysUnder returns the keys under prefix on one node.
func keysUnder(ctx context.Context, node redis.UniversalClient, prefix string) ([]string, error) {
	var keys []string
	it := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	return keys, it.Err()
}

// cleanUp deletes every key under prefix when the test ends, on every
// node, one key per command: on a cluster they lie in many slots.
func cleanUp(t testing.TB, c redis.UniversalClient, prefix string) {
	t.Cleanup(func() {
		err := forEachMaster(context.Background(), c, func(ctx context.Context, node redis.UniversalClient) error {
			keys, err := keysUnder(ctx, node, prefix)
			if err != nil || len(keys) == 0 {
				return err
			}
			pipe := node.Pipeline()
			for _, k := range keys {
				pipe.Unlink(ctx, k)
			}
			_, err = pipe.Exec(ctx)
			return err
		})
		if err != nil {
			t.Errorf("deleting the test's keys: %v", err)
		}
	})
}

// testPrefix returns a key prefix of its own for the test, and deletes
// its keys when the test ends.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	p := "tokenauthtest:" + randomHex(t, 8) + ":"
	cleanUp(t, c, p)
	return p
}

// newTestStore returns a Store on the single server under a fresh prefix,
// the client, and the prefix. opts.Prefix is replaced.
func newTestStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, redis.UniversalClient, string) {
	t.Helper()
	return newStoreOn(t, single, opts)
}

// newStoreOn is newTestStore on the given backend.
func newStoreOn(t testing.TB, b backend, opts redisstore.Options) (*redisstore.Store, redis.UniversalClient, string) {
	t.Helper()
	c := b.client(t)
	opts.Prefix = testPrefix(t, c)
	s, err := redisstore.New(c, opts)
	require.NoError(t, err)
	return s, c, opts.Prefix
}
