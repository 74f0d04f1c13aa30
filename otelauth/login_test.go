package otelauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

func TestLoginHandler(t *testing.T) {
	h := newHarness(t)
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{OnStoreCall: h.tel.OnStoreCall})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	users := login.CredentialCheckerFunc(func(_ context.Context, username, password string) (login.Grant, error) {
		if username == "john" && password == "correct horse" {
			return login.Grant{UserID: userID}, nil
		}
		return login.Grant{}, login.ErrBadCredentials
	})
	lh, err := login.New(auth, users, login.Options{OnLogin: h.tel.OnLogin})
	require.NoError(t, err)

	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"username":"john","password":"correct horse"}`, http.StatusOK},
		{`{"username":"john","password":"wrong"}`, http.StatusBadRequest},
		{`{"username":"john"}`, http.StatusBadRequest},
	} {
		r := httptest.NewRequest(http.MethodPost, "/api-token-auth/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		assert.Equal(t, c.status, h.serve(lh, r).Code, c.body)
	}

	m := h.metrics(t)
	logins := m["tokenauth.login.duration"]
	assert.Equal(t, "s", logins.Unit)
	assert.Equal(t, map[string]uint64{
		"tokenauth.login.result=success":                            1,
		"error.type=bad_credentials,tokenauth.login.result=failure": 1,
		"error.type=invalid_request,tokenauth.login.result=failure": 1,
	}, histogramCounts(t, logins))
	assert.Equal(t, uint64(1), histogramCounts(t, m["tokenauth.store.duration"])["tokenauth.store.operation=create"])

	var names []string
	for _, s := range h.spans.Ended() {
		names = append(names, s.Name())
	}
	assert.NotContains(t, names, "tokenauth.store create", "store calls are measured, not traced")
	assert.NotContains(t, names, "tokenauth.login", "the request's span is the login")
	for _, v := range h.everyValue(t) {
		assert.NotContains(t, v, "john")
		assert.NotContains(t, v, "horse")
		assert.NotContains(t, v, userID)
	}
}

func TestLoginOutcomes(t *testing.T) {
	h := newHarness(t)
	want := map[string]uint64{"tokenauth.login.result=success": 1}
	h.tel.OnLogin(context.Background(), "success", time.Millisecond)
	for _, o := range []string{"bad_credentials", "throttled", "invalid_request", "too_many_tokens", "unavailable"} {
		h.tel.OnLogin(context.Background(), o, time.Millisecond)
		want["error.type="+o+",tokenauth.login.result=failure"] = 1
	}
	h.tel.OnLogin(context.Background(), "john@example.com", time.Millisecond)
	want["error.type=_OTHER,tokenauth.login.result=failure"] = 1
	assert.Equal(t, want, histogramCounts(t, h.metrics(t)["tokenauth.login.duration"]))
}

func TestStoreOperations(t *testing.T) {
	h := newHarness(t)
	want := map[string]uint64{}
	for _, op := range []string{"find", "create", "list", "touch", "expire", "delete", "delete_user", "load_user"} {
		h.tel.OnStoreCall(context.Background(), op, time.Millisecond, nil)
		want["tokenauth.store.operation="+op] = 1
	}
	h.tel.OnStoreCall(context.Background(), "find", time.Millisecond, tokenauth.ErrNotFound)
	want["tokenauth.store.operation=find"]++
	h.tel.OnStoreCall(context.Background(), "create", time.Millisecond, tokenauth.ErrExists)
	want["tokenauth.store.operation=create"]++
	h.tel.OnStoreCall(context.Background(), "load_user", time.Millisecond, tokenauth.ErrUserInactive)
	want["tokenauth.store.operation=load_user"]++
	h.tel.OnStoreCall(context.Background(), "vacuum", time.Millisecond, context.DeadlineExceeded)
	want["error.type=timeout,tokenauth.store.operation=_OTHER"] = 1
	assert.Equal(t, want, histogramCounts(t, h.metrics(t)["tokenauth.store.duration"]))
}
