package ginauth_test

import (
	"context"
	"errors"
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
// Require guards the whole /api group, as Django REST Framework's default
// permission does, so it decides before the method does: a wrong method
// without credentials gets 401, not 405. gin runs a group's middleware only
// on the group's routes and answers a wrong method from its NoMethod
// handlers, so Require goes there too.
func newServer(_ *testing.T, env *tokenauthtest.HTTPEnv) http.Handler {
	a := env.Auth
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.NoMethod(ginauth.Require(a))
	r.Any("/api-token-auth/", gin.WrapH(env.Login))
	r.GET("/api/public/", ginauth.Optional(a), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "public", "user": userID(ginauth.Token(c))})
	})
	api := r.Group("/api", ginauth.Require(a))
	api.POST("/logout/", gin.WrapH(a.LogoutHandler()))
	api.POST("/logoutall/", gin.WrapH(a.LogoutAllHandler()))
	api.GET("/protected/", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "ok", "user": userID(ginauth.Token(c)), "ctx_user": userID(tokenauth.FromContext(c.Request.Context()))})
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
	tokenauthtest.RunHTTPTests(t, newServer)
}

// TestAuthBeforeMethodDispatch checks that the suite's server decides on
// credentials before it looks at the method, as DRF does.
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
		{"ValidToken", http.MethodPost, "/api/protected/", "Token " + key, http.StatusMethodNotAllowed, ""},
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
		chain     []gin.HandlerFunc
		anonymous bool // send no Authorization header
		request   func(r *http.Request) *http.Request
		wantUser  string // "" for anonymous
	}{
		{"NoMiddleware", nil, false, nil, ""},
		{"Require", []gin.HandlerFunc{ginauth.Require(a)}, false, nil, "alice"},
		{"RequireScope", []gin.HandlerFunc{ginauth.Require(a, "read")}, false, nil, "alice"},
		{"Optional", []gin.HandlerFunc{ginauth.Optional(a)}, false, nil, "alice"},
		{"OptionalAnonymous", []gin.HandlerFunc{ginauth.Optional(a)}, true, nil, ""},
		{"RequestContextOnly", nil, true, func(r *http.Request) *http.Request {
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
				if tok, got.tokOK = ginauth.Token(c); got.tokOK {
					got.tokUser = tok.UserID
				}
				var u *user
				if u, got.userOK = ginauth.User[*user](c); got.userOK {
					got.user = u.name
				}
				_, got.wrongTypeOK = ginauth.User[string](c)
				c.Status(http.StatusNoContent)
			})...)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if !tc.anonymous {
				req.Header.Set("Authorization", "Token "+key)
			}
			if tc.request != nil {
				req = tc.request(req)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
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
	r := gin.New()
	r.GET("/", ginauth.Require(a), ginauth.Require(a, "write"), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Token "+key)
	before := store.Calls()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, 1, store.Calls()-before, "one store lookup per request")
}

// TestErrorHandler checks that failures go through the Authenticator's
// Error, which calls Options.ErrorHandler and adds Retry-After to a 503,
// and that nothing else is written after it.
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
		mw     gin.HandlerFunc
		header string
		outage bool
		want   int
		wantRA bool // Retry-After expected
	}{
		{"Require", ginauth.Require(a), "", false, http.StatusUnauthorized, false},
		{"Optional", ginauth.Optional(a), "Token tka_bad", false, http.StatusUnauthorized, false},
		{"Scope", ginauth.Require(a, "admin"), "Token " + key, false, http.StatusForbidden, false},
		{"Outage", ginauth.Require(a), "Token " + key, true, http.StatusServiceUnavailable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outage {
				store.SetErr(errors.New("connection refused"))
				t.Cleanup(func() { store.SetErr(nil) })
			}
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
			assert.Equal(t, tc.wantRA, w.Header().Get("Retry-After") != "")
		})
	}
}
