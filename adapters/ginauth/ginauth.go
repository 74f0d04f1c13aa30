// Package ginauth adapts tokenauth to gin. It only translates: the core's
// Check decides, the Authenticator's Error renders failures, so a gin
// service answers exactly as a net/http one does.
//
// The Principal is kept in the context of c.Request, which belongs to the
// gin context: Token and User read it there, and so does
// tokenauth.FromContext in net/http code further down. Nothing is added to
// c.Keys, which would cost a map allocation per request for a value that
// only this package's getters could read.
//
//	r := gin.New()
//	r.POST("/api-token-auth/", gin.WrapH(loginHandler))
//	api := r.Group("/api", ginauth.Require(auth))
//	api.GET("/me/", func(c *gin.Context) {
//		tok, _ := ginauth.Token(c)
//		c.JSON(http.StatusOK, gin.H{"user": tok.UserID})
//	})
//	api.POST("/admin/", ginauth.Require(auth, "admin"), admin)
//	api.POST("/logout/", gin.WrapH(auth.LogoutHandler()))
package ginauth

import (
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/go-tokenauth/tokenauth"
)

// Require returns middleware that lets a request through only with valid
// credentials carrying every one of scopes. Failures are rendered by the
// Authenticator (401, 403 for a missing scope, 503 with Retry-After during
// a store outage) and abort the chain. Behind another Require it reuses
// the Principal already found.
func Require(a *tokenauth.Authenticator, scopes ...string) gin.HandlerFunc {
	return handler(a, tokenauth.Policy{Scopes: slices.Clone(scopes)})
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no Principal, while bad
// credentials still fail, as with tokenauth's Optional.
func Optional(a *tokenauth.Authenticator) gin.HandlerFunc {
	return handler(a, tokenauth.Policy{Optional: true})
}

func handler(a *tokenauth.Authenticator, p tokenauth.Policy) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, err := a.Check(c.Request, p)
		if err != nil {
			a.Error(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		if ctx != c.Request.Context() {
			c.Request = c.Request.WithContext(ctx)
		}
	}
}

// Token returns the authenticated token of c's request, or nil and false
// for an anonymous request. The token is shared: do not modify it.
func Token(c *gin.Context) (*tokenauth.Token, bool) {
	return tokenauth.FromContext(c.Request.Context())
}

// User returns the user that Options.UserLoader loaded for c's request,
// asserted to type U, or the zero U and false.
func User[U any](c *gin.Context) (U, bool) {
	return tokenauth.UserFromContext[U](c.Request.Context())
}
