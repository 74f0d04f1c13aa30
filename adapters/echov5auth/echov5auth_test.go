package echov5auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echov5auth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newServer mounts the routes of the shared HTTP suite on an echo router.
func newServer(a *tokenauth.Authenticator, login http.Handler) *echo.Echo {
	e := echo.New()
	e.Any("/api-token-auth/", echov5auth.Login(login))
	api := e.Group("/api")
	api.POST("/logout/", echov5auth.Logout(a), echov5auth.Require(a))
	api.POST("/logoutall/", echov5auth.LogoutAll(a), echov5auth.Require(a))
	api.GET("/protected/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "ok", "user": userID(echov5auth.Token(c)), "ctx_user": userID(tokenauth.FromContext(c.Request().Context()))})
	}, echov5auth.Require(a))
	api.GET("/public/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "public", "user": userID(echov5auth.Token(c))})
	}, echov5auth.Optional(a))
	api.GET("/scoped/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "scoped"})
	}, echov5auth.RequireScopes(a, "write"))
	api.GET("/items/:id/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "user": userID(echov5auth.Token(c))})
	}, echov5auth.Require(a))
	return e
}

func userID(t *tokenauth.Token, ok bool) string {
	if !ok {
		return ""
	}
	return t.UserID
}

func TestHTTP(t *testing.T) {
	tokenauthtest.RunHTTPTests(t, func(t *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
		return newServer(env.Auth, env.Login)
	})
}

type user struct{ name string }

func TestGetters(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{
		UserLoader: func(_ context.Context, id string) (any, error) { return &user{name: id}, nil },
	})
	key := tokenauthtest.Issue(t, a, "alice")

	tests := []struct {
		name     string
		mw       []echo.MiddlewareFunc
		request  func(r *http.Request) *http.Request
		wantUser string // "" for anonymous
	}{
		{"NoMiddleware", nil, nil, ""},
		{"Require", []echo.MiddlewareFunc{echov5auth.Require(a)}, nil, "alice"},
		{"Optional", []echo.MiddlewareFunc{echov5auth.Optional(a)}, nil, "alice"},
		{"RequireScopesAlone", []echo.MiddlewareFunc{echov5auth.RequireScopes(a)}, nil, "alice"},
		{"RequestContextOnly", nil, func(r *http.Request) *http.Request {
			return tokenauthtest.WithUser(r, "bob", &user{name: "bob"})
		}, "bob"},
		{"CoreMiddleware", []echo.MiddlewareFunc{echo.WrapMiddleware(a.Require)}, nil, "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				tokOK, userOK, wrongTypeOK bool
				tokUser, user              string
			}
			e := echo.New()
			e.GET("/", func(c *echo.Context) error {
				var tok *tokenauth.Token
				if tok, got.tokOK = echov5auth.Token(c); got.tokOK {
					got.tokUser = tok.UserID
				}
				var u *user
				if u, got.userOK = echov5auth.User[*user](c); got.userOK {
					got.user = u.name
				}
				_, got.wrongTypeOK = echov5auth.User[string](c)
				return c.NoContent(http.StatusNoContent)
			}, tc.mw...)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Token "+key)
			if tc.request != nil {
				req = tc.request(req)
				req.Header.Del("Authorization")
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			require.Equal(t, http.StatusNoContent, w.Code)

			assert.Equal(t, tc.wantUser != "", got.tokOK)
			assert.Equal(t, tc.wantUser, got.tokUser)
			assert.Equal(t, tc.wantUser != "", got.userOK)
			assert.Equal(t, tc.wantUser, got.user)
			assert.False(t, got.wrongTypeOK)
		})
	}
}

func TestRequireScopesReusesPrincipal(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{TouchInterval: -1})
	key := tokenauthtest.Issue(t, a, "alice", "write")
	e := echo.New()
	e.GET("/", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) },
		echov5auth.Require(a), echov5auth.RequireScopes(a, "write"))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Token "+key)
	before := store.Calls()
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, 1, store.Calls()-before, "one store lookup per request")
}

func TestErrorHandler(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			status, _ := tokenauth.Classify(err)
			http.Error(w, "custom", status)
		},
	})
	key := tokenauthtest.Issue(t, a, "alice")
	tests := []struct {
		name   string
		mw     echo.MiddlewareFunc
		header string
		want   int
	}{
		{"Require", echov5auth.Require(a), "", http.StatusUnauthorized},
		{"Optional", echov5auth.Optional(a), "Token tka_bad", http.StatusUnauthorized},
		{"RequireScopes", echov5auth.RequireScopes(a, "admin"), "Token " + key, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.GET("/", func(c *echo.Context) error {
				t.Error("handler reached")
				return nil
			}, tc.mw)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code)
			assert.Equal(t, "custom\n", w.Body.String())
		})
	}
}
