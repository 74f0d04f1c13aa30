package echov5auth_test

import (
	"context"
	"errors"
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
// Require guards the whole /api group, as Django REST Framework's default
// permission does, so it decides before the method does: a wrong method
// without credentials gets 401, not 405. echo runs a group's middleware
// for every path under its prefix, a wrong method included.
func newServer(_ *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
	a := env.Auth
	e := echo.New()
	e.Any("/api-token-auth/", echo.WrapHandler(env.Login))
	e.GET("/api/public/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "public", "user": userID(echov5auth.Token(c))})
	}, echov5auth.Optional(a))
	api := e.Group("/api", echov5auth.Require(a))
	api.POST("/logout/", echo.WrapHandler(a.LogoutHandler()))
	api.POST("/logoutall/", echo.WrapHandler(a.LogoutAllHandler()))
	api.GET("/protected/", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "ok", "user": userID(echov5auth.Token(c)), "ctx_user": userID(tokenauth.FromContext(c.Request().Context()))})
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
	tokenauthtest.RunHTTPTests(t, newServer)
}

// TestAuthBeforeMethodDispatch checks that the suite's server decides on
// credentials before it looks at the method, as DRF does. With valid
// credentials a wrong method reaches the group's catch-all route, which
// echo answers 404.
func TestAuthBeforeMethodDispatch(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{})
	h := newServer(t, &tokenauthtest.HTTPEnv{Auth: a, Store: store, Login: http.NotFoundHandler()})
	key := tokenauthtest.Issue(t, a, "alice")
	tests := []struct {
		name, method, path, header string
		want                       int
		detail                     string // "" when the router answers
	}{
		{"NoCredentials", http.MethodPost, "/api/protected/", "", http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"BadToken", http.MethodDelete, "/api/items/1/", "Token tka_bad", http.StatusUnauthorized, "Invalid token."},
		{"LogoutGet", http.MethodGet, "/api/logout/", "", http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"ValidToken", http.MethodPost, "/api/protected/", "Token " + key, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code)
			if tc.detail != "" {
				assert.JSONEq(t, `{"detail":"`+tc.detail+`"}`, w.Body.String())
				assert.Equal(t, "Token", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

type user struct{ name string }

func TestGetters(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{
		UserLoader: func(_ context.Context, id string) (any, error) { return &user{name: id}, nil },
	})
	key := tokenauthtest.Issue(t, a, "alice", "read")

	tests := []struct {
		name      string
		mw        []echo.MiddlewareFunc
		anonymous bool // send no Authorization header
		request   func(r *http.Request) *http.Request
		wantUser  string // "" for anonymous
	}{
		{"NoMiddleware", nil, false, nil, ""},
		{"Require", []echo.MiddlewareFunc{echov5auth.Require(a)}, false, nil, "alice"},
		{"RequireScope", []echo.MiddlewareFunc{echov5auth.Require(a, "read")}, false, nil, "alice"},
		{"Optional", []echo.MiddlewareFunc{echov5auth.Optional(a)}, false, nil, "alice"},
		{"OptionalAnonymous", []echo.MiddlewareFunc{echov5auth.Optional(a)}, true, nil, ""},
		{"RequestContextOnly", nil, true, func(r *http.Request) *http.Request {
			return tokenauthtest.WithUser(r, "bob", &user{name: "bob"})
		}, "bob"},
		{"CoreMiddleware", []echo.MiddlewareFunc{echo.WrapMiddleware(a.Require())}, false, nil, "alice"},
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
			if !tc.anonymous {
				req.Header.Set("Authorization", "Token "+key)
			}
			if tc.request != nil {
				req = tc.request(req)
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

// TestNestedRequireOneLookup checks that a scoped Require behind the
// group's Require reuses the Principal instead of asking the store again.
func TestNestedRequireOneLookup(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{TouchInterval: -1})
	key := tokenauthtest.Issue(t, a, "alice", "write")
	e := echo.New()
	e.GET("/", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) },
		echov5auth.Require(a), echov5auth.Require(a, "write"))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Token "+key)
	before := store.Calls()
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, 1, store.Calls()-before, "one store lookup per request")
}

// TestErrorHandler checks that failures go through the Authenticator's
// Error, which calls Options.ErrorHandler and adds Retry-After to a 503,
// and that echo's own error handler writes nothing after it.
func TestErrorHandler(t *testing.T) {
	a, store := tokenauthtest.New(t, tokenauth.Options{
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
		outage bool
		want   int
		wantRA bool // Retry-After expected
	}{
		{"Require", echov5auth.Require(a), "", false, http.StatusUnauthorized, false},
		{"Optional", echov5auth.Optional(a), "Token tka_bad", false, http.StatusUnauthorized, false},
		{"Scope", echov5auth.Require(a, "admin"), "Token " + key, false, http.StatusForbidden, false},
		{"Outage", echov5auth.Require(a), "Token " + key, true, http.StatusServiceUnavailable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outage {
				store.SetErr(errors.New("connection refused"))
				t.Cleanup(func() { store.SetErr(nil) })
			}
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
			assert.Equal(t, tc.wantRA, w.Header().Get("Retry-After") != "")
		})
	}
}
