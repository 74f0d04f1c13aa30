package echoauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/echoauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newServer mounts the routes of the shared HTTP suite on an echo router.
func newServer(a *tokenauth.Authenticator, login http.Handler) *echo.Echo {
	e := echo.New()
	e.Any("/api-token-auth/", echoauth.Login(login))
	api := e.Group("/api")
	api.POST("/logout/", echoauth.Logout(a), echoauth.Require(a))
	api.POST("/logoutall/", echoauth.LogoutAll(a), echoauth.Require(a))
	api.GET("/protected/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "ok", "user": userID(echoauth.Token(c)), "ctx_user": userID(tokenauth.FromContext(c.Request().Context()))})
	}, echoauth.Require(a))
	api.GET("/public/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "public", "user": userID(echoauth.Token(c))})
	}, echoauth.Optional(a))
	api.GET("/scoped/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "scoped"})
	}, echoauth.RequireScopes(a, "write"))
	api.GET("/items/:id/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "user": userID(echoauth.Token(c))})
	}, echoauth.Require(a))
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
		{"Require", []echo.MiddlewareFunc{echoauth.Require(a)}, nil, "alice"},
		{"Optional", []echo.MiddlewareFunc{echoauth.Optional(a)}, nil, "alice"},
		{"RequireScopesAlone", []echo.MiddlewareFunc{echoauth.RequireScopes(a)}, nil, "alice"},
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
			e.GET("/", func(c echo.Context) error {
				var tok *tokenauth.Token
				if tok, got.tokOK = echoauth.Token(c); got.tokOK {
					got.tokUser = tok.UserID
				}
				var u *user
				if u, got.userOK = echoauth.User[*user](c); got.userOK {
					got.user = u.name
				}
				_, got.wrongTypeOK = echoauth.User[string](c)
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
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		echoauth.Require(a), echoauth.RequireScopes(a, "write"))
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
		{"Require", echoauth.Require(a), "", http.StatusUnauthorized},
		{"Optional", echoauth.Optional(a), "Token tka_bad", http.StatusUnauthorized},
		{"RequireScopes", echoauth.RequireScopes(a, "admin"), "Token " + key, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.GET("/", func(c echo.Context) error {
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
