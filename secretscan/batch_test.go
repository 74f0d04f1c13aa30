package secretscan_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/secretscan"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowStore answers lookups and deletes as a database across a network
// does, after latency.
type slowStore struct {
	tokenauth.Store
	latency time.Duration
}

func (s slowStore) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	time.Sleep(s.latency)
	return s.Store.Find(ctx, digest)
}

func (s slowStore) Delete(ctx context.Context, id string) error {
	time.Sleep(s.latency)
	return s.Store.Delete(ctx, id)
}

// A report of 1,000 live tokens completes well within GitHub's 30
// seconds, even against a store that takes 5 ms a call: one by one, its
// 2,000 calls would take 10 s.
func TestBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 2,000 tokens")
	}
	for _, latency := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(latency.String(), func(t *testing.T) {
			gh := newFakeGitHub(t)
			id := gh.newKey(t, true)
			mem := memstore.New()
			auth, err := tokenauth.New(slowStore{mem, latency}, tokenauth.Options{Logger: quiet})
			require.NoError(t, err)
			t.Cleanup(func() { _ = auth.Close() })
			h, err := secretscan.New(auth, secretscan.Options{KeysURL: gh.url, Logger: quiet})
			require.NoError(t, err)

			keys := make([]string, 1000)
			matches := make([]map[string]string, len(keys))
			for i := range keys {
				keys[i], _, err = auth.Issue(context.Background(), "42", tokenauth.IssueOptions{})
				require.NoError(t, err)
				matches[i] = found(keys[i])
			}
			body := reportBody(t, matches...)
			gh.send(t, h, id, []byte(`[]`)) // fetch the keys before the clock starts

			start := time.Now()
			fb := readFeedback(t, gh.send(t, h, id, body))
			took := time.Since(start)
			t.Logf("1,000 matches, %d KiB, store latency %s: %s", len(body)>>10, latency, took.Round(time.Millisecond))
			assert.Less(t, took, 15*time.Second, "GitHub waits 30 s")
			require.Len(t, fb, 1000)
			for i, f := range fb {
				assert.Equal(t, tokenHash(keys[i]), f.TokenHash)
				assert.Equal(t, "true_positive", f.Label)
			}
			left, err := mem.List(context.Background(), "42")
			require.NoError(t, err)
			assert.Empty(t, left, "every token is revoked")
		})
	}
}
