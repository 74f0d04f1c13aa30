// Package echov5auth adapts tokenauth to echo v5. It only translates: every
// decision is the core's Authenticate, every failure is rendered by the
// Authenticator's ErrorHandler, so an echo service answers exactly as a
// net/http one does. For echo v5 use package echov5auth.
//
// The middleware stores the request's Principal in the echo context and in
// the request's context.Context, so that Token and User work on the echo
// context and tokenauth.FromContext works in net/http code further down.
//
//	e := echo.New()
//	e.POST("/api-token-auth/", echov5auth.Login(loginHandler))
//	api := e.Group("/api", echov5auth.Require(auth))
//	api.GET("/me", func(c *echo.Context) error {
//		tok, _ := echov5auth.Token(c)
//		return c.JSON(http.StatusOK, map[string]string{"user": tok.UserID})
//	})
//	api.POST("/logout/", echov5auth.Logout(auth))
package echov5auth

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/go-tokenauth/tokenauth"
	"github.com/labstack/echo/v5"
)

// principalKey is the echo context key of the request's context.Context
// that carries the Principal; storing that context rather than the
// Principal itself costs no allocation.
const principalKey = "github.com/go-tokenauth/tokenauth/adapters/echov5auth.principal"

// Require returns middleware that lets a request through only with valid
// credentials. Failures are rendered by the Authenticator's ErrorHandler
// (401 for missing or bad credentials, 503 with Retry-After during a store
// outage) and end the request.
func Require(a *tokenauth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ctx, _, err := a.AuthenticateContext(c.Request())
			if err != nil {
				return fail(a, c, err)
			}
			set(c, ctx)
			return next(c)
		}
	}
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no Principal, while bad
// credentials still fail, as with tokenauth's Optional.
func Optional(a *tokenauth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ctx, _, err := a.AuthenticateContext(c.Request())
			switch {
			case errors.Is(err, tokenauth.ErrNoCredentials):
			case err != nil:
				return fail(a, c, err)
			default:
				set(c, ctx)
			}
			return next(c)
		}
	}
}

// RequireScopes returns middleware that requires a token carrying every one
// of scopes, answering 403 otherwise. Behind Require it reuses the
// Principal already found; on its own it authenticates first.
func RequireScopes(a *tokenauth.Authenticator, scopes ...string) echo.MiddlewareFunc {
	want := slices.Clone(scopes)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			p, ok := Principal(c)
			if !ok || p.Token == nil {
				ctx, found, err := a.AuthenticateContext(c.Request())
				if err != nil {
					return fail(a, c, err)
				}
				p = found
				set(c, ctx)
			}
			if err := tokenauth.CheckScopes(p.Token, want...); err != nil {
				return fail(a, c, err)
			}
			return next(c)
		}
	}
}

// Login serves the login handler (see the login package's New).
func Login(h http.Handler) echo.HandlerFunc { return echo.WrapHandler(h) }

// Logout serves a.LogoutHandler, which revokes the presenting token. Put it
// behind Require.
func Logout(a *tokenauth.Authenticator) echo.HandlerFunc {
	return echo.WrapHandler(a.LogoutHandler())
}

// LogoutAll serves a.LogoutAllHandler, which revokes every token of the
// presenting token's user. Put it behind Require.
func LogoutAll(a *tokenauth.Authenticator) echo.HandlerFunc {
	return echo.WrapHandler(a.LogoutAllHandler())
}

// Principal returns the Principal that the middleware found for c's
// request, or false for an anonymous request. It also finds one put in the
// request context by tokenauth's net/http middleware (through
// echo.WrapMiddleware).
func Principal(c *echo.Context) (tokenauth.Principal, bool) {
	if ctx, ok := c.Get(principalKey).(context.Context); ok {
		return tokenauth.PrincipalFromContext(ctx)
	}
	if c.Request() == nil {
		return tokenauth.Principal{}, false
	}
	return tokenauth.PrincipalFromContext(c.Request().Context())
}

// Token returns the authenticated token of c's request, or nil and false
// for an anonymous request. The token is shared: do not modify it.
func Token(c *echo.Context) (*tokenauth.Token, bool) {
	p, _ := Principal(c)
	return p.Token, p.Token != nil
}

// User returns the user that Options.UserLoader loaded for c's request,
// asserted to type U, or the zero U and false.
func User[U any](c *echo.Context) (U, bool) {
	p, _ := Principal(c)
	u, ok := p.User.(U)
	return u, ok
}

func set(c *echo.Context, ctx context.Context) {
	c.SetRequest(c.Request().WithContext(ctx))
	c.Set(principalKey, ctx)
}

// fail renders err and returns nil: the response is written, so echo's
// HTTPErrorHandler has nothing left to do.
func fail(a *tokenauth.Authenticator, c *echo.Context, err error) error {
	a.Error(c.Response(), c.Request(), err)
	return nil
}
