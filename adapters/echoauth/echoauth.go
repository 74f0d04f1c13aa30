// Package echoauth adapts tokenauth to echo v4. It only translates: the
// core's Check decides, the Authenticator's Error renders failures, so an
// echo service answers exactly as a net/http one does. Package echov5auth,
// generated from this file, is the same adapter for echo v5.
//
// On a group, Require guards every path under the group's prefix, as
// net/http's mux.Handle("/api/", auth.Require()(api)) guards a tree: echo
// gives a group with middleware a catch-all route, so a client without
// valid credentials gets 401 whatever the path or method. With valid
// ones, Require turns the catch-all's 404 into 405 with an Allow header
// where another method has a route, as net/http answers.
//
// The Principal is kept in the context of c.Request(), which belongs to
// the echo context: Token and User read it there, and so does
// tokenauth.FromContext in net/http code further down. Nothing is added
// with c.Set, which would cost a map allocation per request for a value
// that only this package's getters could read.
//
//	e := echo.New()
//	e.Any("/api-token-auth/", echo.WrapHandler(loginHandler))
//	api := e.Group("/api", echoauth.Require(auth))
//	api.GET("/me/", func(c echo.Context) error {
//		tok, _ := echoauth.Token(c)
//		return c.JSON(http.StatusOK, map[string]string{"user": tok.UserID})
//	})
//	api.POST("/admin/", admin, echoauth.Require(auth, "admin"))
//	api.POST("/logout/", echo.WrapHandler(auth.LogoutHandler()))
package echoauth

import (
	"slices"
	"strings"

	"github.com/go-tokenauth/tokenauth"
	"github.com/labstack/echo/v4"
)

// Require returns middleware that lets a request through only with valid
// credentials carrying every one of scopes. Failures are rendered by the
// Authenticator (401, 403 for a missing scope, 503 with Retry-After during
// a store outage) and end the request. Behind another Require it reuses
// the Principal already found. On a group it also answers a wrong method
// with 405 (see the package documentation).
func Require(a *tokenauth.Authenticator, scopes ...string) echo.MiddlewareFunc {
	return middleware(a, tokenauth.Policy{Scopes: slices.Clone(scopes)})
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no Principal, while bad
// credentials still fail, as with tokenauth's Optional.
func Optional(a *tokenauth.Authenticator) echo.MiddlewareFunc {
	return middleware(a, tokenauth.Policy{Optional: true})
}

func middleware(a *tokenauth.Authenticator, p tokenauth.Policy) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			ctx, err := a.Check(r, p)
			if err != nil {
				a.Error(c.Response(), r, err)
				return nil // answered: echo's error handler must not write again
			}
			if ctx != r.Context() {
				c.SetRequest(r.WithContext(ctx))
			}
			if err = next(c); err != echo.ErrNotFound {
				return err
			}
			if allow := allowed(c); allow != "" {
				c.Response().Header().Set(echo.HeaderAllow, allow)
				return echo.ErrMethodNotAllowed
			}
			return err
		}
	}
}

// allowed returns, as the Allow header lists them, the methods routed for
// the path of c's request when c reached only a group's catch-all route,
// or "". A group with middleware routes every path under its prefix to a
// catch-all that answers 404, even where another method has a route and
// net/http would answer 405.
func allowed(c echo.Context) string {
	e, r := c.Echo(), c.Request()
	var methods, allow []string
	for _, rt := range e.Router().Routes() {
		switch {
		case rt.Method == echo.RouteNotFound:
		case rt.Path == c.Path():
			return "" // c reached a handler: its 404 stands
		case !slices.Contains(methods, rt.Method):
			methods = append(methods, rt.Method)
		}
	}
	for _, m := range methods {
		probe := r.WithContext(r.Context()) // a copy, its method changed: echo v5 routes by the request's
		probe.Method = m
		pc := e.NewContext(probe, nil)
		e.Router().Find(m, echo.GetPath(probe), pc)
		if pc.Path() != c.Path() {
			allow = append(allow, m)
		}
	}
	slices.Sort(allow)
	return strings.Join(allow, ", ")
}

// Token returns the authenticated token of c's request, or nil and false
// for an anonymous request. The token is shared: do not modify it.
func Token(c echo.Context) (*tokenauth.Token, bool) {
	return tokenauth.FromContext(c.Request().Context())
}

// User returns the user that Options.UserLoader loaded for c's request,
// asserted to type U, or the zero U and false.
func User[U any](c echo.Context) (U, bool) {
	return tokenauth.UserFromContext[U](c.Request().Context())
}
