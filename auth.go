package tokenauth

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/clientaddr"
	"github.com/go-tokenauth/tokenauth/internal/deadline"
	"github.com/go-tokenauth/tokenauth/internal/failurelog"
	"github.com/go-tokenauth/tokenauth/internal/keyformat"
)

// Authenticator issues and checks tokens. It is safe for concurrent use;
// create one with New and share it.
type Authenticator struct {
	store       Store
	opts        Options // with defaults filled in
	sum         keyformat.Sum
	retryAfter  string // opts.RetryAfter in whole seconds, for the header
	clients     clientaddr.Rule
	rates       *memoryCounter // without Options.RateCounter
	log         *failurelog.Log
	crossOrigin *http.CrossOriginProtection // when opts.Cookie is set
	uses        *useWriter
}

// New returns an Authenticator over store. It returns an error wrapping
// ErrInvalidOptions when opts are invalid.
func New(store Store, opts Options) (*Authenticator, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: store is nil", ErrInvalidOptions)
	}
	o := &opts
	o.Prefix = cmp.Or(o.Prefix, keyformat.DefaultPrefix)
	if !keyformat.ValidPrefix(o.Prefix) {
		return nil, fmt.Errorf("%w: Prefix %q must be 1 to %d ASCII letters or digits", ErrInvalidOptions, o.Prefix, keyformat.MaxPrefixLen)
	}
	if o.Hasher == nil {
		o.Hasher = SHA256
	}
	o.Keywords = slices.Clone(o.Keywords)
	if len(o.Keywords) == 0 {
		o.Keywords = []string{"Token"}
	}
	for _, k := range o.Keywords {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			return nil, fmt.Errorf("%w: keyword %q must be a non-empty word of visible ASCII", ErrInvalidOptions, k)
		}
	}
	if o.DefaultTTL < 0 || o.IdleTimeout < 0 || o.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: DefaultTTL, IdleTimeout and RetryAfter must not be negative", ErrInvalidOptions)
	}
	o.StoreTimeout = max(cmp.Or(o.StoreTimeout, defaultStoreTimeout), 0)
	o.TouchInterval = cmp.Or(o.TouchInterval, time.Minute)
	if o.IdleTimeout > 0 {
		if o.TouchInterval < 0 {
			return nil, fmt.Errorf("%w: IdleTimeout needs last-used tracking; TouchInterval must not be negative", ErrInvalidOptions)
		}
		if o.IdleTimeout <= o.TouchInterval {
			return nil, fmt.Errorf("%w: IdleTimeout (%s) must exceed TouchInterval (%s)", ErrInvalidOptions, o.IdleTimeout, o.TouchInterval)
		}
	}
	for _, p := range o.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: TrustedProxies holds an invalid prefix", ErrInvalidOptions)
		}
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = DRFErrorHandler(o.Keywords[0])
	}
	o.RetryAfter = cmp.Or(o.RetryAfter, 5*time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnStoreCall != nil {
		store = observedStore{store, o.OnStoreCall}
		if o.UserLoader != nil {
			o.UserLoader = observeLoader(o.UserLoader, o.OnStoreCall)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var rates *memoryCounter
	if o.RateCounter == nil {
		rates = newMemoryCounter(o.Now)
	}
	a := &Authenticator{
		store:      store,
		opts:       opts,
		clients:    clientaddr.New(o.TrustedProxies),
		rates:      rates,
		retryAfter: fmt.Sprint(int((o.RetryAfter + time.Second - 1) / time.Second)),
		log:        failurelog.New(o.Logger, "tokenauth: store failure"),
	}
	if k, ok := o.Hasher.(keyedSum); ok {
		a.sum = k.sum
	}
	a.uses = newUseWriter(o.TouchInterval, o.Now, a.writeUses)
	if o.Cookie != "" {
		a.crossOrigin = http.NewCrossOriginProtection()
		for _, origin := range o.TrustedOrigins {
			if err := a.crossOrigin.AddTrustedOrigin(origin); err != nil {
				return nil, fmt.Errorf("%w: TrustedOrigins: %w", ErrInvalidOptions, err)
			}
		}
	}
	return a, nil
}

// Verify checks a key that came other than by HTTP (gRPC metadata, a
// WebSocket message), with Check's errors; having no client address, it
// refuses tokens with address lists (ErrAddressNotAllowed).
func (a *Authenticator) Verify(ctx context.Context, key string) (Principal, error) {
	var start time.Time
	if a.opts.OnCheck != nil {
		start = time.Now()
	}
	p, err := a.verify(ctx, key)
	if a.opts.OnCheck != nil {
		a.opts.OnCheck(ctx, reason(err), time.Since(start))
	}
	return p, err
}

func (a *Authenticator) verify(ctx context.Context, key string) (Principal, error) {
	if !a.wellFormed(key) {
		return Principal{}, errMalformedKey
	}
	return a.lookup(ctx, a.opts.Hasher.Digest(key), new([2]deadline.Context), nil)
}

// wellFormed reports whether key has the shape of a token this
// Authenticator accepts, before any store is asked.
func (a *Authenticator) wellFormed(key string) bool {
	return keyformat.Valid(a.opts.Prefix, key, a.sum) ||
		a.opts.AcceptLegacyKeys && keyformat.IsLegacy(key) ||
		a.opts.AcceptUUIDKeys && keyformat.IsUUID(key)
}

// lookup finds the token with the given digest and checks it, for r (nil
// from Verify). The store and loader calls are bounded by bounds[0] and
// bounds[1], unused until then: the middleware keeps them in its request
// context.
func (a *Authenticator) lookup(ctx context.Context, digest []byte, bounds *[2]deadline.Context, r *http.Request) (Principal, error) {
	// The clock is read before the store is asked: a token that expires
	// while Find runs is accepted, as it was valid when the request came.
	now := a.opts.Now()
	t, err := a.find(ctx, bounds[0].Bind(ctx, a.opts.StoreTimeout), digest)
	if err != nil {
		return Principal{}, err
	}
	// Defence in depth against a store that matches loosely.
	if subtle.ConstantTimeCompare(t.Digest, digest) != 1 {
		return Principal{}, ErrInvalidToken
	}
	if t.Expired(now) {
		return Principal{}, ErrExpired
	}
	if err := a.constrain(ctx, t, now, r); err != nil {
		return Principal{}, err
	}
	p := Principal{Token: t}
	if a.opts.UserLoader != nil {
		if p.User, err = a.loadUser(ctx, bounds[1].Bind(ctx, a.opts.StoreTimeout), t.UserID); err != nil {
			return Principal{}, err
		}
	}
	a.touch(t, now)
	return p, nil
}

// find asks the store for digest with sctx, ctx bounded.
func (a *Authenticator) find(ctx context.Context, sctx *deadline.Context, digest []byte) (*Token, error) {
	defer sctx.Release()
	t, err := a.store.Find(sctx, digest)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, a.storeError(ctx, "find", err)
	case t == nil:
		return nil, a.storeError(ctx, "find", errors.New("store returned a nil token without an error"))
	}
	return t, nil
}

// loadUser asks the UserLoader for userID with sctx, ctx bounded.
func (a *Authenticator) loadUser(ctx context.Context, sctx *deadline.Context, userID string) (any, error) {
	defer sctx.Release()
	u, err := a.opts.UserLoader(sctx, userID)
	switch {
	case errors.Is(err, ErrUserInactive) || errors.Is(err, ErrNotFound):
		return nil, ErrUserInactive
	case err != nil:
		return nil, a.storeError(ctx, "load user", err)
	}
	return u, nil
}

// bound returns ctx limited by StoreTimeout, and the function that
// releases it: every store and UserLoader call is bounded this way (see
// package deadline).
func (a *Authenticator) bound(ctx context.Context) (context.Context, func()) {
	d := new(deadline.Context).Bind(ctx, a.opts.StoreTimeout)
	return d, d.Release
}

// storeError logs a store failure made on behalf of ctx (the caller's, not
// the bounded one, whose end says nothing about the client) and wraps it
// as ErrUnavailable.
func (a *Authenticator) storeError(ctx context.Context, op string, err error) error {
	a.log.Failure(ctx, slog.LevelError, op, err)
	return unavailable(err)
}
