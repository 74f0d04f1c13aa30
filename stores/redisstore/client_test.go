package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// New refuses, before any request, every client set-up under which the
// store would not keep its promises, and says what to change. No server
// is needed: go-redis dials lazily.
func TestNewChecksTheClient(t *testing.T) {
	const addr = "127.0.0.1:1"
	cluster := []string{addr, "127.0.0.2:1"}
	tests := []struct {
		name    string
		client  func() redis.UniversalClient
		wantErr string // "" for accepted
	}{
		{"client", func() redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		}, ""},
		{"client ignoring deadlines", func() redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addr})
		}, "ContextTimeoutEnabled: true"},
		{"client caching replies", func() redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, Protocol: 3,
				ClientSideCacheConfig: &redis.ClientSideCacheConfig{}})
		}, "caches replies"},
		{"universal, one address", func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true})
		}, ""},
		{"universal, one address, ignoring deadlines", func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
		}, "ContextTimeoutEnabled: true"},
		{"cluster", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster, ContextTimeoutEnabled: true})
		}, ""},
		{"cluster ignoring deadlines", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster})
		}, "ContextTimeoutEnabled: true"},
		{"universal, several addresses, ignoring deadlines", func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cluster})
		}, "ContextTimeoutEnabled: true"},
		{"cluster reading replicas", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster, ContextTimeoutEnabled: true, ReadOnly: true})
		}, "reads from replicas"},
		{"cluster routing by latency", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster, ContextTimeoutEnabled: true, RouteByLatency: true})
		}, "reads from replicas"},
		{"universal routing randomly", func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cluster, ContextTimeoutEnabled: true, RouteRandomly: true})
		}, "reads from replicas"},
		{"sentinel failover", func() redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{addr}, ContextTimeoutEnabled: true})
		}, ""},
		{"sentinel failover ignoring deadlines", func() redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{addr}})
		}, "ContextTimeoutEnabled: true"},
		{"sentinel failover cluster reading replicas", func() redis.UniversalClient {
			return redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{addr},
				ContextTimeoutEnabled: true, RouteRandomly: true})
		}, "reads from replicas"},
		{"ring", func() redis.UniversalClient {
			return redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addr}, ContextTimeoutEnabled: true})
		}, "redis.Ring is not supported"},
		{"another implementation", func() redis.UniversalClient {
			return wrapped{redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})}
		}, "unsupported client type redisstore_test.wrapped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client()
			t.Cleanup(func() { _ = c.Close() })
			s, err := redisstore.New(c, redisstore.Options{})
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, s)
				return
			}
			require.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Nil(t, s)
		})
	}
}

func TestNewNilClient(t *testing.T) {
	for _, c := range []redis.UniversalClient{nil, (*redis.Client)(nil), (*redis.ClusterClient)(nil)} {
		s, err := redisstore.New(c, redisstore.Options{})
		require.ErrorIs(t, err, tokenauth.ErrInvalidOptions, "%T", c)
		assert.Contains(t, err.Error(), "client is nil")
		assert.Nil(t, s)
	}
}

// wrapped is a UniversalClient that is none of go-redis's own.
type wrapped struct{ *redis.Client }
