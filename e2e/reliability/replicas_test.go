package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

const (
	// replicaTTL is the cache TTL of each replica in TestReplicasAgree:
	// far longer than the test, so that only the store's revocation
	// events can make the other replica refuse a token.
	replicaTTL = time.Hour
	// heard bounds how long after a revocation returned the other
	// replica may still accept the token: the event's way through
	// PostgreSQL's NOTIFY or Redis pub/sub, with room for a loaded
	// machine under the race detector.
	heard = 100 * time.Millisecond
	// inFlight is how long after a revocation a lookup begun before it may
	// still be answering: a lookup that joins it shares its answer.
	inFlight = 50 * time.Millisecond
)

// verification is one Verify made by the load of TestReplicasAgree.
type verification struct {
	replica    int
	key        string
	start, end time.Time
	err        error
}

// revocation is when a token was revoked, and through which replica.
type revocation struct {
	replica int
	from    time.Time // when Revoke or RevokeAll was called
	at      time.Time // when it returned
}

// TestReplicasAgree runs two replicas of a service, each with its own
// connection and its own hour-long cachestore, over one PostgreSQL or
// Redis store, and revokes tokens on each while both authenticate them
// without pause. The replica that revoked a token refuses it as soon as
// the revocation has returned; the other within 100 ms, as the store's
// revocation event reaches its cache; tokens not revoked keep working on
// both.
func TestReplicasAgree(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.get(t)
			var replicas []*tokenauth.Authenticator
			for range 2 {
				discard := slog.New(slog.NewTextHandler(io.Discard, nil))
				subscribed := make(chan struct{})
				var once sync.Once
				cache, err := cachestore.New(b.open(t, b.target), cachestore.Options{TTL: replicaTTL, Logger: discard,
					OnWatch: func(watching bool, _ error) {
						if watching {
							once.Do(func() { close(subscribed) })
						}
					}})
				require.NoError(t, err)
				select {
				case <-subscribed:
				case <-time.After(15 * time.Second):
					t.Fatal("the cache did not subscribe to the store's revocations")
				}
				t.Cleanup(func() { cache.Close() }) // before its connections close
				auth, err := tokenauth.New(cache, tokenauth.Options{Logger: discard})
				require.NoError(t, err)
				replicas = append(replicas, auth)
			}

			ctx := context.Background()
			const users, perUser = 4, 3
			var keys []string
			toks := map[string]*tokenauth.Token{}
			for i := 0; i < users*perUser; i++ {
				key, tok, err := replicas[i%2].Issue(ctx, fmt.Sprintf("user-%d", i%users), tokenauth.IssueOptions{})
				require.NoError(t, err)
				keys = append(keys, key)
				toks[key] = tok
			}
			// A token issued on one replica works on the other at once.
			for i, key := range keys {
				_, err := replicas[(i+1)%2].Verify(ctx, key)
				require.NoError(t, err)
			}

			// Both replicas verify every token without pause.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var done []verification
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						v := verification{replica: w % 2, key: keys[i%len(keys)], start: time.Now()}
						_, v.err = replicas[v.replica].Verify(ctx, v.key)
						v.end = time.Now()
						mu.Lock()
						done = append(done, v)
						mu.Unlock()
					}
				}()
			}

			// Once every token is cached on both, revoke user-0's tokens
			// one by one on replica 0, user-1's on replica 1, and all of
			// user-2's at once on replica 0; user-3 keeps its tokens.
			time.Sleep(300 * time.Millisecond)
			revoked := map[string]revocation{}
			for i, user := range []string{"user-0", "user-1"} {
				for _, key := range keys {
					if toks[key].UserID == user {
						from := time.Now()
						require.NoError(t, replicas[i].Revoke(ctx, toks[key].ID))
						revoked[key] = revocation{replica: i, from: from, at: time.Now()}
					}
				}
			}
			from := time.Now()
			n, err := replicas[0].RevokeAll(ctx, "user-2")
			require.NoError(t, err)
			require.Equal(t, perUser, n)
			at := time.Now()
			for _, key := range keys {
				if toks[key].UserID == "user-2" {
					revoked[key] = revocation{replica: 0, from: from, at: at}
				}
			}
			time.Sleep(heard + 2*inFlight + 300*time.Millisecond)
			close(stop)
			wg.Wait()

			var refusedLate, servedFromCache int
			var lastServed time.Duration
			for _, v := range done {
				r, ok := revoked[v.key]
				switch {
				case v.err != nil && !errors.Is(v.err, tokenauth.ErrInvalidToken):
					t.Errorf("replica %d: Verify: %v", v.replica, v.err)
				case !ok || v.end.Before(r.from):
					assert.NoError(t, v.err, "replica %d refused a token not revoked (yet)", v.replica)
				case v.err == nil && v.replica == r.replica && v.start.After(r.at):
					t.Errorf("replica %d accepted a token %s after revoking it", v.replica, v.start.Sub(r.at))
				case v.err == nil && v.start.After(r.at.Add(heard+inFlight)):
					t.Errorf("replica %d accepted a token %s after replica %d revoked it, beyond the %s its event may take",
						v.replica, v.start.Sub(r.at), r.replica, heard)
				case v.err == nil && v.replica != r.replica && v.start.After(r.at):
					servedFromCache++
					lastServed = max(lastServed, v.start.Sub(r.at))
				case v.err != nil && v.start.After(r.at.Add(heard+inFlight)):
					refusedLate++
				}
			}
			assert.Positive(t, refusedLate, "requests after the event refused the revoked tokens")
			t.Logf("%d verifications; after a revocation, %d served from the other replica's cache (the last %s after it returned), %d refused after %s",
				len(done), servedFromCache, lastServed.Round(time.Microsecond), refusedLate, heard+inFlight)
		})
	}
}
