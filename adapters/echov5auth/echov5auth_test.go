// Code generated from package echoauth by echov5.sed; DO NOT EDIT.

package echov5auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echov5auth"
	"github.com/go-tokenauth/tokenauth/adaptertest"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
)

// newServer mounts the routes of the shared HTTP suite on an echo router,
// as the README does.
func newServer(_ *testing.T, env *adaptertest.Env) http.Handler {
	a := env.Auth
	e := echo.New()
	e.Any("/api-token-auth/", echo.WrapHandler(env.Login))
	e.GET("/api/public/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "public", "user": userID(echov5auth.Token(c))})
	}, echov5auth.Optional(a))
	api := e.Group("/api", echov5auth.Require(a))
	api.POST("/logout/", echo.WrapHandler(a.LogoutHandler()))
	api.POST("/logoutall/", echo.WrapHandler(a.LogoutAllHandler()))
	api.POST("/logout-others/", echo.WrapHandler(a.LogoutOthersHandler()))
	api.GET("/protected/", func(c *echo.Context) error {
		u, _ := echov5auth.User[*adaptertest.User](c)
		return c.JSON(http.StatusOK, map[string]string{"message": "ok", "user": userID(echov5auth.Token(c)),
			"ctx_user": userID(tokenauth.FromContext(c.Request().Context())), "username": u.Username})
	})
	api.GET("/scoped/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "scoped"})
	}, echov5auth.Require(a, "write"))
	api.GET("/items/:id/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "user": userID(echov5auth.Token(c))})
	})
	return e
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

// TestNotFound checks which 404s Require turns into 405: those of a
// group's catch-all route where another method has a route, in nested
// groups too, and never a handler's own.
func TestNotFound(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	key := tokenauthtest.Issue(t, a, "1", "admin")
	e := echo.New()
	api := e.Group("/api", echov5auth.Require(a))
	api.GET("/items/:id/", func(c *echo.Context) error { return echo.ErrNotFound })
	api.POST("/items/new/", func(c *echo.Context) error { return c.NoContent(http.StatusCreated) })
	api.Any("/any/", func(c *echo.Context) error { return echo.ErrNotFound })
	api.Group("/admin", echov5auth.Require(a, "admin")).PUT("/users/", func(c *echo.Context) error { return nil })
	tests := []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/api/items/new/", http.StatusNotFound, ""},
		{"GET", "/api/items/42/", http.StatusNotFound, ""},
		{"DELETE", "/api/items/new/", http.StatusMethodNotAllowed, "GET, POST"},
		{"PATCH", "/api/any/", http.StatusNotFound, ""},
		{"GET", "/api/admin/users/", http.StatusMethodNotAllowed, "PUT"},
		{"GET", "/api/admin/nope/", http.StatusNotFound, ""},
		{"GET", "/api", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Authorization", "Token "+key)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		assert.Equal(t, tc.want, w.Code, "%s %s", tc.method, tc.path)
		assert.Equal(t, tc.allow, w.Header().Get("Allow"), "%s %s", tc.method, tc.path)
	}
}
