package ginauth_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/adaptertest"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// newServer mounts the routes of the shared HTTP suite on a gin router,
// as the README does.
func newServer(_ *testing.T, env *adaptertest.Env) http.Handler {
	a := env.Auth
	r := gin.New()
	r.Any("/api-token-auth/", gin.WrapH(env.Login))
	r.GET("/api/public/", ginauth.Optional(a), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "public", "user": userID(ginauth.Token(c))})
	})
	api := ginauth.Group(r, "/api", a)
	api.POST("/logout/", gin.WrapH(a.LogoutHandler()))
	api.POST("/logoutall/", gin.WrapH(a.LogoutAllHandler()))
	api.POST("/logout-others/", gin.WrapH(a.LogoutOthersHandler()))
	api.GET("/protected/", func(c *gin.Context) {
		u, _ := ginauth.User[*adaptertest.User](c)
		c.JSON(http.StatusOK, gin.H{"message": "ok", "user": userID(ginauth.Token(c)),
			"ctx_user": userID(tokenauth.FromContext(c.Request.Context())), "username": u.Username})
	})
	api.GET("/scoped/", ginauth.Require(a, "write"), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "scoped"})
	})
	api.GET("/items/:id/", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "user": userID(ginauth.Token(c))})
	})
	return r
}

func userID(t *tokenauth.Token, ok bool) string {
	if !ok {
		return ""
	}
	return t.UserID
}

func TestHTTP(t *testing.T) {
	adaptertest.Run(t, newServer)
}

// TestGroupPaths checks which unrouted paths Group guards: those under its
// own path only, as gin's RemoveExtraSlash would route them, each with its
// group's scopes.
func TestGroupPaths(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	user, admin := tokenauthtest.Issue(t, a, "1"), tokenauthtest.Issue(t, a, "2", "admin")
	r := gin.New()
	r.RemoveExtraSlash = true
	ginauth.Group(r, "/api", a).GET("/items/", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	ginauth.Group(r, "/admin/", a, "admin").GET("/users/", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	tests := []struct {
		method, path, key string
		want              int
	}{
		{"POST", "//api/items/", "", http.StatusUnauthorized},
		{"POST", "/api/items/", user, http.StatusMethodNotAllowed},
		{"GET", "/api", "", http.StatusUnauthorized},
		{"GET", "/apix/", "", http.StatusNotFound},
		{"GET", "/admin/nope/", user, http.StatusForbidden},
		{"DELETE", "/admin/users/", user, http.StatusForbidden},
		{"DELETE", "/admin/users/", admin, http.StatusMethodNotAllowed},
		{"GET", "/admin/nope/", admin, http.StatusNotFound},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Token "+tc.key)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		assert.Equal(t, tc.want, w.Code, "%s %s", tc.method, tc.path)
	}
}
