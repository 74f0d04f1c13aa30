package tokenauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postKey(key string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/logout/", nil)
	if key != "" {
		r.Header.Set("Authorization", "Token "+key)
	}
	return r
}

// "Log out other sessions": every token of the user but the presenting
// one is revoked.
func TestLogoutOthersHandler(t *testing.T) {
	ctx := context.Background()
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	keep := tokenauthtest.Issue(t, a, "1")
	others := []string{tokenauthtest.Issue(t, a, "1"), tokenauthtest.Issue(t, a, "1")}
	theirs := tokenauthtest.Issue(t, a, "2")

	for name, h := range map[string]http.Handler{
		"alone":          a.LogoutOthersHandler(),
		"behind Require": a.Require()(a.LogoutOthersHandler()),
	} {
		t.Run(name, func(t *testing.T) {
			rec := serve(h, postKey(keep))
			assert.Equal(t, http.StatusNoContent, rec.Code)
			assert.Empty(t, rec.Body.String())
			_, err := a.Verify(ctx, keep)
			assert.NoError(t, err, "the presenting token is kept")
			for _, k := range others {
				_, err := a.Verify(ctx, k)
				assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
			}
			_, err = a.Verify(ctx, theirs)
			assert.NoError(t, err, "another user's token survives")
			others = append(others, tokenauthtest.Issue(t, a, "1")) // for the next round
		})
	}
	assert.Equal(t, 401, serve(a.LogoutOthersHandler(), postKey("")).Code)
	assert.Equal(t, 401, serve(a.LogoutOthersHandler(), postKey(unknownKey(t))).Code)
}

func TestLogoutHandlerMethods(t *testing.T) {
	a, _ := tokenauthtest.New(t, tokenauth.Options{})
	key := tokenauthtest.Issue(t, a, "1")
	for name, h := range map[string]http.Handler{
		"logout":        a.LogoutHandler(),
		"logout all":    a.LogoutAllHandler(),
		"logout others": a.LogoutOthersHandler(),
	} {
		t.Run(name, func(t *testing.T) {
			r := postKey(key)
			r.Method = http.MethodGet
			rec := serve(h, r)
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
			assert.Equal(t, "POST, OPTIONS", rec.Header().Get("Allow"))
			assert.JSONEq(t, `{"detail":"Method \"GET\" not allowed."}`, rec.Body.String())

			r.Method = http.MethodOptions
			rec = serve(h, r)
			assert.Equal(t, http.StatusNoContent, rec.Code)
			assert.Equal(t, "POST, OPTIONS", rec.Header().Get("Allow"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), "OPTIONS's 204 too")

			_, err := a.Verify(context.Background(), key)
			require.NoError(t, err, "no method but POST revokes")
		})
	}

	// A token revoked concurrently still gets 204.
	p, err := a.Verify(context.Background(), key)
	require.NoError(t, err)
	r := postKey(key)
	r = r.WithContext(tokenauth.NewContext(r.Context(), p))
	require.NoError(t, a.Revoke(context.Background(), p.Token.ID))
	assert.Equal(t, http.StatusNoContent, serve(a.LogoutHandler(), r).Code)
}
