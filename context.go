package tokenauth

import (
	"context"
	"crypto/sha256"

	"github.com/go-tokenauth/tokenauth/internal/deadline"
)

// Principal is who a request authenticated as.
type Principal struct {
	Token *Token // the authenticated token record (read-only)
	User  any    // what Options.UserLoader returned; nil without a loader
}

type principalKey struct{}

// principalCtx carries a Principal in one allocation, where
// context.WithValue would need two. The middleware also computes the key's
// digest into digest (see digestAppender), and bounds its store and
// loader calls with bounds (see package deadline), saving an allocation
// each.
type principalCtx struct {
	context.Context
	p      Principal
	digest [sha256.Size]byte
	bounds [2]deadline.Context
}

func (c *principalCtx) Value(key any) any {
	if _, ok := key.(principalKey); ok {
		return &c.p
	}
	return c.Context.Value(key)
}

// NewContext returns a copy of ctx that carries p, as the middleware does:
// for tests (see tokenauthtest.WithUser) and for Verify outside HTTP.
func NewContext(ctx context.Context, p Principal) context.Context {
	return &principalCtx{Context: ctx, p: p}
}

// FromContext returns the authenticated token of the request context, or
// nil and false for an anonymous request. The token is shared: do not
// modify it.
func FromContext(ctx context.Context) (*Token, bool) {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p.Token != nil {
		return p.Token, true
	}
	return nil, false
}

// UserFromContext returns the user Options.UserLoader loaded for the
// request as a U, or the zero U and false (anonymous, no loader, not a U).
//
//	user, ok := tokenauth.UserFromContext[*myapp.User](r.Context())
func UserFromContext[U any](ctx context.Context) (U, bool) {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok {
		u, ok := p.User.(U)
		return u, ok
	}
	var zero U
	return zero, false
}
