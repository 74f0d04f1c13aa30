// Package ginauth adapts tokenauth to gin. It only translates: every
// decision is the core's Authenticate, every failure is rendered by the
// Authenticator's ErrorHandler, so a gin service answers exactly as a
// net/http one does.
//
// The middleware stores the request's Principal in the gin context and in
// the request's context.Context, so that Token and User work on the gin
// context and tokenauth.FromContext works in net/http code further down.
//
//	r := gin.New()
//	r.POST("/api-token-auth/", ginauth.Login(loginHandler))
//	api := r.Group("/api", ginauth.Require(auth))
//	api.GET("/me", func(c *gin.Context) {
//		tok, _ := ginauth.Token(c)
//		c.JSON(http.StatusOK, gin.H{"user": tok.UserID})
//	})
//	api.POST("/logout/", ginauth.Logout(auth))
package ginauth

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/go-tokenauth/tokenauth"
)

// principalKey is the gin context key of the request's context.Context
// that carries the Principal; storing that context rather than the
// Principal itself costs no allocation.
type principalKey struct{}

// Require returns middleware that lets a request through only with valid
// credentials. Failures are rendered by the Authenticator's ErrorHandler
// (401 for missing or bad credentials, 503 with Retry-After during a store
// outage) and abort the chain.
func Require(a *tokenauth.Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, _, err := a.AuthenticateContext(c.Request)
		if err != nil {
			fail(a, c, err)
			return
		}
		set(c, ctx)
	}
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no Principal, while bad
// credentials still fail, as with tokenauth's Optional.
func Optional(a *tokenauth.Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, _, err := a.AuthenticateContext(c.Request)
		switch {
		case errors.Is(err, tokenauth.ErrNoCredentials):
		case err != nil:
			fail(a, c, err)
		default:
			set(c, ctx)
		}
	}
}

// RequireScopes returns middleware that requires a token carrying every one
// of scopes, answering 403 otherwise. Behind Require it reuses the
// Principal already found; on its own it authenticates first.
func RequireScopes(a *tokenauth.Authenticator, scopes ...string) gin.HandlerFunc {
	want := slices.Clone(scopes)
	return func(c *gin.Context) {
		p, ok := Principal(c)
		if !ok || p.Token == nil {
			ctx, found, err := a.AuthenticateContext(c.Request)
			if err != nil {
				fail(a, c, err)
				return
			}
			p = found
			set(c, ctx)
		}
		if err := tokenauth.CheckScopes(p.Token, want...); err != nil {
			fail(a, c, err)
		}
	}
}

// Login serves the login handler (see the login package's New).
func Login(h http.Handler) gin.HandlerFunc { return gin.WrapH(h) }

// Logout serves a.LogoutHandler, which revokes the presenting token. Put it
// behind Require.
func Logout(a *tokenauth.Authenticator) gin.HandlerFunc { return gin.WrapH(a.LogoutHandler()) }

// LogoutAll serves a.LogoutAllHandler, which revokes every token of the
// presenting token's user. Put it behind Require.
func LogoutAll(a *tokenauth.Authenticator) gin.HandlerFunc {
	return gin.WrapH(a.LogoutAllHandler())
}

// Principal returns the Principal that the middleware found for c's
// request, or false for an anonymous request. It also finds one put in the
// request context by tokenauth's net/http middleware (through gin.WrapH).
func Principal(c *gin.Context) (tokenauth.Principal, bool) {
	if v, ok := c.Get(principalKey{}); ok {
		return tokenauth.PrincipalFromContext(v.(context.Context))
	}
	if c.Request == nil {
		return tokenauth.Principal{}, false
	}
	return tokenauth.PrincipalFromContext(c.Request.Context())
}

// Token returns the authenticated token of c's request, or nil and false
// for an anonymous request. The token is shared: do not modify it.
func Token(c *gin.Context) (*tokenauth.Token, bool) {
	p, _ := Principal(c)
	return p.Token, p.Token != nil
}

// User returns the user that Options.UserLoader loaded for c's request,
// asserted to type U, or the zero U and false.
func User[U any](c *gin.Context) (U, bool) {
	p, _ := Principal(c)
	u, ok := p.User.(U)
	return u, ok
}

func set(c *gin.Context, ctx context.Context) {
	c.Request = c.Request.WithContext(ctx)
	c.Set(principalKey{}, ctx)
}

func fail(a *tokenauth.Authenticator, c *gin.Context, err error) {
	a.Error(c.Writer, c.Request, err)
	c.Abort()
}
