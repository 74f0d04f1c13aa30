package cachestore

import (
	"context"
	"errors"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// errStorePanicked is what lookups sharing a store call get when that
// call panicked; the panic itself goes on in the goroutine that made it.
var errStorePanicked = errors.New("cachestore: the wrapped store panicked in Find")

// flight is one store lookup shared by every concurrent miss of a digest.
type flight struct {
	done chan struct{} // closed when tok and err are set
	tok  *tokenauth.Token
	err  error
	// retry: the lookup failed because its caller's context ended, which
	// says nothing to the others sharing it; they try again.
	retry bool
	// stale: something was invalidated while the lookup ran. Its answer
	// goes to the callers that joined before the invalidation and is not
	// cached; the flight is detached, so later callers start a new one.
	stale bool
}

// load asks the wrapped store for digest on behalf of f's sharers, then
// caches the answer unless it may have been made stale meanwhile.
func (c *Store) load(ctx context.Context, key string, digest []byte, f *flight, started time.Time) {
	returned := false
	defer func() {
		if !returned {
			f.err = errStorePanicked
		}
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		if returned {
			c.keep(key, f, started)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.tok, f.err = c.inner.Find(ctx, digest)
	f.retry = f.err != nil && ctx.Err() != nil
	returned = true
}

// keep caches f's answer for the digest key: a found token for the TTL,
// "not found" for the negative TTL, an error never. c.mu must be held.
func (c *Store) keep(key string, f *flight, started time.Time) {
	if f.stale {
		return
	}
	e := &entry{key: key, loaded: started}
	switch {
	case f.err == nil && f.tok != nil:
		e.tok, e.expires = f.tok, started.Add(c.ttl)
	case errors.Is(f.err, tokenauth.ErrNotFound) && c.negativeTTL > 0:
		e.expires = started.Add(c.negativeTTL)
	default:
		return
	}
	c.insert(e, c.now())
}

// detachFlights marks every lookup in progress stale and removes it from
// the flight table, so that a Find begun after an invalidation never joins
// a lookup that may have read the record before it. Flights do not know
// which token they will find, so all of them go: invalidations are rare.
// c.mu must be held.
func (c *Store) detachFlights() {
	for k, f := range c.flights {
		f.stale = true
		delete(c.flights, k)
	}
}
