package tokenauth

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Policy is what a route requires of a request.
type Policy struct {
	Optional bool     // let requests without credentials in; bad ones still fail
	Scopes   []string // all carried by the request's token, or 403
}

// Check returns a context carrying r's Principal (r.Context() if it already
// did, or for an anonymous request p allows), without modifying r. On
// failure the context is nil and the error is ErrNoCredentials,
// ErrMalformedHeader, ErrInvalidToken (ErrExpired), ErrUserInactive,
// ErrInsufficientScope, ErrAddressNotAllowed, ErrRateLimited or
// ErrUnavailable.
func (a *Authenticator) Check(r *http.Request, p Policy) (context.Context, error) {
	if a.opts.OnCheck == nil {
		ctx, _, err := a.check(r, p)
		return ctx, err
	}
	start := time.Now()
	ctx, reused, err := a.check(r, p)
	switch {
	case err == nil && !reused && ctx == r.Context(): // anonymous, as Optional allows
		a.opts.OnCheck(r.Context(), reason(ErrNoCredentials), time.Since(start))
	case !reused || err != nil:
		a.opts.OnCheck(r.Context(), reason(err), time.Since(start))
	}
	return ctx, err
}

// check is Check; reused reports that it found the Principal of an outer
// check in r's context, and so authenticated nothing itself.
func (a *Authenticator) check(r *http.Request, p Policy) (_ context.Context, reused bool, _ error) {
	ctx := r.Context()
	pr, reused := ctx.Value(principalKey{}).(*Principal)
	if !reused || pr.Token == nil {
		reused = false
		pc, err := a.authenticate(r)
		if err != nil {
			if p.Optional && err == ErrNoCredentials {
				return ctx, false, nil
			}
			return nil, false, err
		}
		ctx, pr = pc, &pc.p
	}
	if len(p.Scopes) > 0 && !pr.Token.HasScopes(p.Scopes...) {
		return nil, reused, &scopeError{required: p.Scopes}
	}
	return ctx, reused, nil
}

// authenticate checks r's credentials and returns its context with the
// Principal in it, built in one allocation.
func (a *Authenticator) authenticate(r *http.Request) (*principalCtx, error) {
	key, fromCookie, err := a.extract(r)
	if err != nil {
		return nil, err
	}
	// A browser sends the cookie by itself, even on a request another
	// site made it send; CrossOriginProtection lets safe methods through.
	if fromCookie && a.crossOrigin.Check(r) != nil {
		return nil, errCrossOrigin
	}
	if !a.wellFormed(key) {
		return nil, errMalformedKey
	}
	pc := &principalCtx{Context: r.Context()}
	var digest []byte
	if d, ok := a.opts.Hasher.(digestAppender); ok {
		digest = d.appendDigest(pc.digest[:0], key)
	} else {
		digest = a.opts.Hasher.Digest(key)
	}
	if pc.p, err = a.lookup(pc.Context, digest, &pc.bounds, r); err != nil {
		return nil, err
	}
	return pc, nil
}

// constrain refuses a use of t that its record forbids at now, in this
// order: before NotBefore, from an address its lists refuse (r is nil for
// Verify: no address), past its RateLimit. A refused address is not
// counted, so that a stolen token used elsewhere cannot spend its owner's
// limit. A token without constraints costs three comparisons.
func (a *Authenticator) constrain(ctx context.Context, t *Token, now time.Time, r *http.Request) error {
	if !t.NotBefore.IsZero() && now.Before(t.NotBefore) {
		return errNotYetValid
	}
	if len(t.AllowedIPs) > 0 || len(t.DeniedIPs) > 0 {
		var ip netip.Addr
		if r != nil {
			ip = a.clients.Addr(r)
		}
		if !addrAllowed(t, ip) {
			return ErrAddressNotAllowed
		}
	}
	if t.RateLimit <= 0 {
		return nil
	}
	var (
		wait time.Duration
		ok   bool
		err  error
	)
	if a.rates != nil { // in memory: no bound needed, nor another clock read
		wait, ok, err = a.rates.countAt(now, t.ID, t.RateLimit, t.RateWindow)
	} else {
		sctx, release := a.bound(ctx)
		wait, ok, err = a.opts.RateCounter(sctx, t.ID, t.RateLimit, t.RateWindow)
		release()
	}
	switch {
	case err != nil:
		return a.storeError(ctx, "rate counter", err)
	case !ok:
		return &rateLimitedError{wait: wait}
	}
	return nil
}

// addrAllowed reports whether t's address lists let ip through: none of
// DeniedIPs, and one of AllowedIPs if it has any. An unknown address is
// refused.
func addrAllowed(t *Token, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range t.DeniedIPs {
		if unmapPrefix(p).Contains(ip) {
			return false
		}
	}
	for _, p := range t.AllowedIPs {
		if unmapPrefix(p).Contains(ip) {
			return true
		}
	}
	return len(t.AllowedIPs) == 0
}

// ClientAddr returns r's client address by the rule of
// Options.TrustedProxies, the invalid Addr if RemoteAddr holds none.
func (a *Authenticator) ClientAddr(r *http.Request) netip.Addr { return a.clients.Addr(r) }

// scopeError reports the scopes a route requires, for the challenge of
// BearerErrorHandler. It matches ErrInsufficientScope.
type scopeError struct{ required []string }

func (e *scopeError) Error() string { return ErrInsufficientScope.Error() }

func (e *scopeError) Is(target error) bool { return target == ErrInsufficientScope }

// requiredScopes returns the scopes err says were required, if any.
func requiredScopes(err error) string {
	var se *scopeError
	if errors.As(err, &se) {
		return strings.Join(slices.Clone(se.required), " ")
	}
	return ""
}
