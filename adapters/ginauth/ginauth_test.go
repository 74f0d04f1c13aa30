package ginauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/ginauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// newServer mounts the routes of the shared HTTP suite on a gin router.
func newServer(a *tokenauth.Authenticator, login http.Handler) *gin.Engine {
	r := gin.New()
	r.Any("/api-token-auth/", ginauth.Login(login))
	api := r.Group("/api")
	api.POST("/logout/", ginauth.Require(a), ginauth.Logout(a))
	api.POST("/logoutall/", ginauth.Require(a), ginauth.LogoutAll(a))
	api.GET("/protected/", ginauth.Require(a), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "ok", "user": userID(ginauth.Token(c)), "ctx_user": userID(tokenauth.FromContext(c.Request.Context()))})
	})
	api.GET("/public/", ginauth.Optional(a), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "public", "user": userID(ginauth.Token(c))})
	})
	api.GET("/scoped/", ginauth.RequireScopes(a, "write"), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "scoped"})
	})
	api.GET("/items/:id/", ginauth.Require(a), func(c *gin.Context) {
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
		chain    []gin.HandlerFunc
		request  func(r *http.Request) *http.Request
		wantUser string // "" for anonymous
	}{
		{"Anonymous", nil, nil, ""},
		{"Require", []gin.HandlerFunc{ginauth.Require(a)}, nil, "alice"},
		{"Optional", []gin.HandlerFunc{ginauth.Optional(a)}, nil, "alice"},
		{"RequireScopesAlone", []gin.HandlerFunc{ginauth.RequireScopes(a)}, nil, "alice"},
		{"RequestContextOnly", nil, func(r *http.Request) *http.Request {
			return tokenauthtest.WithUser(r, "bob", &user{name: "bob"})
		}, "bob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				tokOK, userOK, wrongTypeOK bool
				tokUser, user              string
			}
			r := gin.New()
			r.GET("/", append(tc.chain, func(c *gin.Context) {
				var tok *tokenauth.Token
				tok, got.tokOK = ginauth.Token(c)
				if got.tokOK {
					got.tokUser = tok.UserID
				}
				var u *user
				if u, got.userOK = ginauth.User[*user](c); got.userOK {
					got.user = u.name
				}
				_, got.wrongTypeOK = ginauth.User[string](c)
			})...)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Token "+key)
			if tc.request != nil {
				req = tc.request(req)
				req.Header.Del("Authorization")
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code)

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
	r := gin.New()
	r.GET("/", ginauth.Require(a), ginauth.RequireScopes(a, "write"), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Token "+key)
	before := store.Calls()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
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
		mw     gin.HandlerFunc
		header string
		want   int
	}{
		{"Require", ginauth.Require(a), "", http.StatusUnauthorized},
		{"Optional", ginauth.Optional(a), "Token tka_bad", http.StatusUnauthorized},
		{"RequireScopes", ginauth.RequireScopes(a, "admin"), "Token " + key, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gin.New()
			r.GET("/", tc.mw, func(c *gin.Context) { t.Error("handler reached") })
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code)
			assert.Equal(t, "custom\n", w.Body.String())
		})
	}
}
