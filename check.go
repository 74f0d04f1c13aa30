package tokenauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Policy is what a route requires of a request.
type Policy struct {
	// Optional lets a request without credentials through, anonymous.
	// Bad credentials still fail, as in Django REST Framework: a client
	// with a revoked token learns so instead of silently becoming
	// anonymous.
	Optional bool
	// Scopes must all be carried by the request's token, or it gets 403.
	Scopes []string
}

// Check is the one decision every entry point makes: the net/http
// middleware, the logout handlers and each framework adapter call it and
// only translate its answer.
//
// A Principal already in r's context (put there by an outer middleware) is
// reused; otherwise the credentials of r are checked: the Authorization
// header, then the cookie and query parameter if configured. On success
// Check returns a context carrying the Principal (r.Context() itself when
// it already did, or for an anonymous request that p allows). On failure
// the context is nil and the error is one of this package's, for Error to
// render: ErrNoCredentials, ErrMalformedHeader, ErrInvalidToken,
// ErrExpired, ErrUserInactive, ErrInsufficientScope, or ErrUnavailable
// when the store failed. Check does not modify r.
func (a *Authenticator) Check(r *http.Request, p Policy) (context.Context, error) {
	ctx := r.Context()
	pr, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok || pr.Token == nil {
		pc, err := a.authenticate(r)
		if err != nil {
			if p.Optional && err == ErrNoCredentials {
				return ctx, nil
			}
			return nil, err
		}
		ctx, pr = pc, &pc.p
	}
	if len(p.Scopes) > 0 && !pr.Token.HasScopes(p.Scopes...) {
		return nil, &scopeError{required: p.Scopes}
	}
	return ctx, nil
}

// authenticate checks r's credentials and returns its context with the
// Principal in it, built in one allocation: the context also holds the
// buffer the key's digest is computed into.
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
		return nil, ErrInvalidToken
	}
	ctx := r.Context()
	pc := &principalCtx{Context: ctx}
	var digest []byte
	if d, ok := a.opts.Hasher.(digestAppender); ok {
		digest = d.appendDigest(pc.digest[:0], key)
	} else {
		digest = a.opts.Hasher.Digest(key)
	}
	if pc.p, err = a.lookup(ctx, digest, &pc.bounds); err != nil {
		return nil, err
	}
	return pc, nil
}

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
