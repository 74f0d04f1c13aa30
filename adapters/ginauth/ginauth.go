// Package ginauth adapts tokenauth to gin. It only translates: the core's
// Check decides, the Authenticator's Error renders failures, so a gin
// service answers exactly as a net/http one does.
//
// Group guards a route group as net/http's mux.Handle("/api/",
// auth.Require()(api)) guards a tree: every request under its path is
// checked before gin routes it, so a client without valid credentials
// gets 401 whatever the path or method, and one with them gets gin's 404,
// or 405 with an Allow header for a wrong method.
//
//	r := gin.New()
//	r.Any("/api-token-auth/", gin.WrapH(loginHandler))
//	api := ginauth.Group(r, "/api", auth)
//	api.GET("/me/", func(c *gin.Context) {
//		tok, _ := ginauth.Token(c)
//		c.JSON(http.StatusOK, gin.H{"user": tok.UserID})
//	})
//	api.POST("/admin/", ginauth.Require(auth, "admin"), admin)
//	api.POST("/logout/", gin.WrapH(auth.LogoutHandler()))
//
// The Principal is kept in the context of c.Request, which belongs to the
// gin context: Token and User read it there, and so does
// tokenauth.FromContext in net/http code further down. Nothing is added to
// c.Keys, which would cost a map allocation per request for a value that
// only this package's getters could read.
package ginauth

import (
	"path"
	"slices"
	"strings"

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

// Group returns r.Group(relativePath, Require(a, scopes...)) and makes r
// answer under that path as net/http does with Require in front of a
// tree. gin runs a group's middleware only on the routes it matched, and
// answers an unknown path 404 and a wrong method 404 too; so Group turns
// on r.HandleMethodNotAllowed (405 with an Allow header, for the whole
// engine) and adds to r a middleware that runs the group's check on the
// requests under the path that gin routed nowhere. A client without valid
// credentials gets 401 before any 404 or 405, and learns nothing of the
// routes; routed requests pay one comparison. Call it after r.Use of the
// middleware that must see every request, such as a logger.
func Group(r *gin.Engine, relativePath string, a *tokenauth.Authenticator, scopes ...string) *gin.RouterGroup {
	check := Require(a, scopes...)
	g := r.Group(relativePath, check)
	prefix := strings.TrimSuffix(g.BasePath(), "/")
	r.HandleMethodNotAllowed = true
	r.Use(func(c *gin.Context) {
		if c.FullPath() != "" {
			return // routed: the route's own chain decides
		}
		// Cleaned, as gin's RemoveExtraSlash routes "//api/x" to "/api/x".
		if p := path.Clean("/" + c.Request.URL.Path); p == prefix || strings.HasPrefix(p, prefix+"/") {
			check(c)
		}
	})
	return g
}

func handler(a *tokenauth.Authenticator, p tokenauth.Policy) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, err := a.Check(c.Request, p)
		if err != nil {
			c.Writer.Header().Del("Allow") // set by gin for its 405: no route list for a client without credentials
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
