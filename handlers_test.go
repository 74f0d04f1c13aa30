package tokenauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustVerify(t testing.TB, a *tokenauth.Authenticator, key string) *tokenauth.Token {
	t.Helper()
	p, err := a.Verify(context.Background(), key)
	require.NoError(t, err)
	return p.Token
}

func TestLogout(t *testing.T) {
	newAuth := func(t *testing.T) (*tokenauth.Authenticator, *tokenauthtest.Store) {
		return tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	}
	call := func(h http.Handler, method, key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/auth/logout", nil)
		if key != "" {
			r.Header.Set("Authorization", "Token "+key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	for _, behindRequire := range []bool{true, false} {
		t.Run(fmt.Sprintf("behind Require=%v", behindRequire), func(t *testing.T) {
			auth, _ := newAuth(t)
			h := auth.LogoutHandler()
			if behindRequire {
				h = auth.Require(h)
			}
			key := tokenauthtest.Issue(t, auth, "1")
			other := tokenauthtest.Issue(t, auth, "1")

			w := call(h, http.MethodPost, key)
			assert.Equal(t, http.StatusNoContent, w.Code)
			assert.Empty(t, w.Body.String())

			w = call(auth.Require(http.NotFoundHandler()), http.MethodGet, key)
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Equal(t, `{"detail":"Invalid token."}`, w.Body.String())

			w = call(h, http.MethodPost, key)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "a revoked token cannot log out again")
			assert.Equal(t, `{"detail":"Invalid token."}`, w.Body.String())

			mustVerify(t, auth, other) // the user's other sessions stay

			w = call(h, http.MethodPost, "")
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Equal(t, "Token", w.Header().Get("WWW-Authenticate"))
			assert.Equal(t, `{"detail":"Authentication credentials were not provided."}`, w.Body.String())
		})
	}

	t.Run("revoked concurrently", func(t *testing.T) {
		auth, _ := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		tok := mustVerify(t, auth, key)
		require.NoError(t, auth.Revoke(context.Background(), tok.ID))
		r := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
		r = r.WithContext(tokenauth.NewContext(r.Context(), tokenauth.Principal{Token: tok}))
		w := httptest.NewRecorder()
		auth.LogoutHandler().ServeHTTP(w, r)
		assert.Equal(t, http.StatusNoContent, w.Code)
	})

	t.Run("methods", func(t *testing.T) {
		auth, _ := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		for _, h := range []http.Handler{auth.LogoutHandler(), auth.LogoutAllHandler()} {
			w := call(h, http.MethodGet, key)
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))
			assert.Equal(t, `{"detail":"Method \"GET\" not allowed."}`, w.Body.String())
		}
		mustVerify(t, auth, key)
	})

	t.Run("store outage", func(t *testing.T) {
		auth, store := newAuth(t)
		key := tokenauthtest.Issue(t, auth, "1")
		for _, h := range []http.Handler{auth.LogoutHandler(), auth.LogoutAllHandler()} {
			r := tokenauthtest.WithUser(httptest.NewRequest(http.MethodPost, "/auth/logout", nil), "1", nil)
			store.SetErr(errors.New("down"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			store.SetErr(nil)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "5", w.Header().Get("Retry-After"))
		}
		mustVerify(t, auth, key)
	})
}

func TestLogoutAll(t *testing.T) {
	for _, behindRequire := range []bool{true, false} {
		t.Run(fmt.Sprintf("behind Require=%v", behindRequire), func(t *testing.T) {
			auth, store := tokenauthtest.New(t, tokenauth.Options{})
			h := auth.LogoutAllHandler()
			if behindRequire {
				h = auth.Require(h)
			}
			mine := []string{tokenauthtest.Issue(t, auth, "1"), tokenauthtest.Issue(t, auth, "1"), tokenauthtest.Issue(t, auth, "1")}
			theirs := []string{tokenauthtest.Issue(t, auth, "2"), tokenauthtest.Issue(t, auth, "10")}

			r := httptest.NewRequest(http.MethodPost, "/auth/logout-all", nil)
			r.Header.Set("Authorization", "Token "+mine[1])
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, http.StatusNoContent, w.Code)

			for _, key := range mine {
				_, err := auth.Verify(context.Background(), key)
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
			}
			for _, key := range theirs {
				mustVerify(t, auth, key)
			}
			assert.Equal(t, len(theirs), store.Len())
		})
	}
}
