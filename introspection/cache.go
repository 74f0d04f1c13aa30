package introspection

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// cache keeps the Client's answers, keyed by the SHA-256 of the key so
// that no plaintext key outlives its request, and makes one call to the
// endpoint for all the concurrent misses of one key.
type cache struct {
	ttl, inactiveTTL time.Duration // a negative ttl caches nothing
	size             int
	now              func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]entry
	calls   map[[sha256.Size]byte]*call
}

// entry is a cached answer: a token, or the error that says it is not
// active.
type entry struct {
	tok   *tokenauth.Token
	err   error
	until time.Time
}

// call is a request to the endpoint in flight; done is closed once tok
// and err are set.
type call struct {
	done chan struct{}
	tok  *tokenauth.Token
	err  error
}

func newCache(ttl, inactiveTTL time.Duration, size int, now func() time.Time) *cache {
	return &cache{
		ttl: ttl, inactiveTTL: inactiveTTL, size: size, now: now,
		entries: make(map[[sha256.Size]byte]entry),
		calls:   make(map[[sha256.Size]byte]*call),
	}
}

// get returns the cached answer for key, or asks fetch. The call runs
// apart from ctx, so that a client hanging up does not fail the others
// waiting for the same key; ctx only ends this caller's wait.
func (c *cache) get(ctx context.Context, key string, fetch func(context.Context, string) (*tokenauth.Token, error)) (*tokenauth.Token, error) {
	h := sha256.Sum256([]byte(key))
	c.mu.Lock()
	if e, ok := c.entries[h]; ok {
		if c.now().Before(e.until) {
			c.mu.Unlock()
			return e.tok, e.err
		}
		delete(c.entries, h)
	}
	cl, ok := c.calls[h]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.calls[h] = cl
		go c.run(context.WithoutCancel(ctx), h, key, cl, fetch)
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.tok, cl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, ctx.Err())
	}
}

func (c *cache) run(ctx context.Context, h [sha256.Size]byte, key string, cl *call, fetch func(context.Context, string) (*tokenauth.Token, error)) {
	tok, err := fetch(ctx, key)
	c.mu.Lock()
	cl.tok, cl.err = tok, err
	delete(c.calls, h)
	if until, ok := c.until(tok, err); ok {
		c.store(h, entry{tok: tok, err: err, until: until})
	}
	c.mu.Unlock()
	close(cl.done)
}

// until says how long an answer may be reused: an active token for the
// TTL but never past its expiry, an inactive one briefly, an outage not
// at all.
func (c *cache) until(tok *tokenauth.Token, err error) (time.Time, bool) {
	if c.ttl < 0 {
		return time.Time{}, false
	}
	now := c.now()
	switch {
	case err == nil:
		until := now.Add(c.ttl)
		if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(until) {
			until = tok.ExpiresAt
		}
		return until, true
	case errors.Is(err, tokenauth.ErrInvalidToken):
		return now.Add(c.inactiveTTL), true
	}
	return time.Time{}, false
}

// store adds e, first making room when the cache is full: an expired
// entry among a few looked at, or else any. Map iteration starts at a
// random place, so the victim is random and the cost constant.
func (c *cache) store(h [sha256.Size]byte, e entry) {
	if _, ok := c.entries[h]; !ok && len(c.entries) >= c.size {
		now, looked := c.now(), 0
		var victim [sha256.Size]byte
		for k, old := range c.entries {
			victim = k
			if looked++; !now.Before(old.until) || looked == 8 {
				break
			}
		}
		delete(c.entries, victim)
	}
	c.entries[h] = e
}
