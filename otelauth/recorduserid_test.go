package otelauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/otelauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

func TestRecordUserID(t *testing.T) {
	h := newHarness(t)
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{OnCheck: h.tel.OnCheck})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	key, _, err := auth.Issue(context.Background(), userID, tokenauth.IssueOptions{})
	require.NoError(t, err)

	api := auth.Optional()(otelauth.RecordUserID(http.HandlerFunc(ok)))
	r := httptest.NewRequest(http.MethodGet, "/api/", nil)
	r.Header.Set("Authorization", "Token "+key)
	assert.Equal(t, http.StatusOK, h.serve(api, r).Code)
	assert.Equal(t, http.StatusOK, h.serve(api, httptest.NewRequest(http.MethodGet, "/api/", nil)).Code)

	var got []string
	for _, s := range h.spans.Ended() {
		if s.Name() == "GET /api/" {
			got = append(got, spanAttrs(s))
		}
	}
	assert.ElementsMatch(t, []string{"enduser.id=" + userID, ""}, got, "the user of the one authenticated request")
	for _, m := range h.metrics(t) {
		assert.NotContains(t, attrsOf(t, m), userID, m.Name)
	}

	// Without a span, nothing to record on and nothing breaks.
	r = httptest.NewRequest(http.MethodGet, "/api/", nil)
	r.Header.Set("Authorization", "Token "+key)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
}
