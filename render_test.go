package tokenauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
)

func TestBearerErrorHandler(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{
		Keywords:     []string{"Bearer"},
		ErrorHandler: tokenauth.BearerErrorHandler("api"),
		Logger:       quiet,
	})
	key := tokenauthtest.Issue(t, a, "1")
	cases := []struct {
		header, challenge string
		status            int
	}{
		{"", `Bearer realm="api"`, 401},
		{"Bearer", `Bearer realm="api", error="invalid_request", error_description="Invalid token header. No credentials provided."`, 400},
		{"Bearer nope", `Bearer realm="api", error="invalid_token", error_description="Invalid token."`, 401},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		rec := serve(a.Require()(whoami), r)
		assert.Equal(t, tc.status, rec.Code, tc.header)
		assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"), tc.header)
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	rec := serve(a.Require("admin", "write")(whoami), r)
	assert.Equal(t, 403, rec.Code)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", error_description="You do not have permission to perform this action.", scope="admin write"`, rec.Header().Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"insufficient_scope","error_description":"You do not have permission to perform this action."}`, rec.Body.String())

	// The scopes of the route that refused, when nested.
	rec = serve(a.Require("read")(a.Require("admin")(whoami)), r)
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `scope="read"`)

	s.SetErr(errors.New("boom"))
	rec = serve(a.Require()(whoami), r)
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.NotContains(t, rec.Body.String(), "boom")
}

func TestCustomErrorHandler(t *testing.T) {
	var got error
	a, _ := tokenauthtest.New(t, tokenauth.Options{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}})
	rec := serve(a.Require()(whoami), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.ErrorIs(t, got, tokenauth.ErrNoCredentials)
}

func TestRetryAfterOption(t *testing.T) {
	a, s := tokenauthtest.New(t, tokenauth.Options{RetryAfter: 1500 * time.Millisecond, Logger: quiet})
	key := tokenauthtest.Issue(t, a, "1")
	s.SetErr(errors.New("down"))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Token "+key)
	rec := serve(a.Require()(whoami), r)
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"), "rounded up to whole seconds")

	// Only outages carry it.
	rec = serve(a.Require()(whoami), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 401, rec.Code)
	assert.Empty(t, rec.Header().Get("Retry-After"))
}

// Every answer tokenauth writes forbids MIME sniffing, so that a browser
// never renders an error body as a page, whatever the ErrorHandler.
func TestNosniff(t *testing.T) {
	post := func(r *http.Request) *http.Request {
		r.Method = http.MethodPost
		return r
	}
	type route struct {
		name    string
		handler func(a *tokenauth.Authenticator) http.Handler
	}
	protected := route{"Require", func(a *tokenauth.Authenticator) http.Handler { return a.Require()(whoami) }}
	admin := route{"Require(admin)", func(a *tokenauth.Authenticator) http.Handler { return a.Require("admin")(whoami) }}
	logout := route{"LogoutHandler", (*tokenauth.Authenticator).LogoutHandler}
	logoutAll := route{"LogoutAllHandler", (*tokenauth.Authenticator).LogoutAllHandler}
	logoutOthers := route{"LogoutOthersHandler", (*tokenauth.Authenticator).LogoutOthersHandler}
	cases := []struct {
		name    string
		opts    tokenauth.Options
		route   route
		request func(key string) *http.Request
		outage  bool
		status  int
	}{
		{"401 no credentials", tokenauth.Options{}, protected, func(string) *http.Request { return keyRequest("") }, false, 401},
		{"401 malformed header", tokenauth.Options{}, protected, func(string) *http.Request {
			r := keyRequest("")
			r.Header.Set("Authorization", "Token")
			return r
		}, false, 401},
		{"401 invalid token", tokenauth.Options{}, protected, func(string) *http.Request { return keyRequest("tka_nope") }, false, 401},
		{"403 scope", tokenauth.Options{}, admin, keyRequest, false, 403},
		{"403 cross-site cookie", tokenauth.Options{Cookie: "auth"}, protected, func(key string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.AddCookie(&http.Cookie{Name: "auth", Value: key})
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}, false, 403},
		{"503 outage", tokenauth.Options{}, protected, keyRequest, true, 503},
		{"400 Bearer malformed", tokenauth.Options{Keywords: []string{"Bearer"}, ErrorHandler: tokenauth.BearerErrorHandler("api")}, protected, func(string) *http.Request {
			r := keyRequest("")
			r.Header.Set("Authorization", "Bearer")
			return r
		}, false, 400},
		{"custom ErrorHandler", tokenauth.Options{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusTeapot)
		}}, protected, func(string) *http.Request { return keyRequest("") }, false, http.StatusTeapot},
		{"logout 204", tokenauth.Options{}, logout, func(key string) *http.Request { return post(keyRequest(key)) }, false, 204},
		{"logout all 204", tokenauth.Options{}, logoutAll, func(key string) *http.Request { return post(keyRequest(key)) }, false, 204},
		{"logout others 204", tokenauth.Options{}, logoutOthers, func(key string) *http.Request { return post(keyRequest(key)) }, false, 204},
		{"logout 401", tokenauth.Options{}, logout, func(string) *http.Request { return post(keyRequest("")) }, false, 401},
		{"logout 503", tokenauth.Options{}, logout, func(key string) *http.Request { return post(keyRequest(key)) }, true, 503},
		{"logout 405", tokenauth.Options{}, logout, keyRequest, false, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = quiet
			a, s := tokenauthtest.New(t, tc.opts)
			key := tokenauthtest.Issue(t, a, "1")
			if tc.outage {
				s.SetErr(errors.New("down"))
			}
			rec := serve(tc.route.handler(a), tc.request(key))
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		})
	}
}
