package tokenauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// hookLog records what OnCheck and OnStoreCall are told.
type hookLog struct {
	mu      sync.Mutex
	reasons []string
	ops     []string
	failed  []string
}

func (h *hookLog) check(_ context.Context, reason string, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if took < 0 {
		reason = "negative time"
	}
	h.reasons = append(h.reasons, reason)
}

func (h *hookLog) store(_ context.Context, op string, took time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
	if err != nil && !errors.Is(err, tokenauth.ErrNotFound) {
		h.failed = append(h.failed, op)
	}
}

func (h *hookLog) take() (reasons, ops, failed []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	reasons, ops, failed = h.reasons, h.ops, h.failed
	h.reasons, h.ops, h.failed = nil, nil, nil
	return reasons, ops, failed
}

// Every authentication reports its outcome once, with one of the reasons
// OnCheck documents, and every store call its operation.
func TestObserverHooks(t *testing.T) {
	ctx := context.Background()
	hooks := &hookLog{}
	failing := tokenauthtest.NewFailingStore(memstore.New())
	a, err := tokenauth.New(failing, tokenauth.Options{
		OnCheck:     hooks.check,
		OnStoreCall: hooks.store,
		Logger:      quiet,
		UserLoader: func(_ context.Context, id string) (any, error) {
			if id == "gone" {
				return nil, tokenauth.ErrUserInactive
			}
			return id, nil
		},
		TouchInterval: -1,
	})
	require.NoError(t, err)
	key, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{Scopes: []string{"read"}})
	require.NoError(t, err)
	gone, _, err := a.Issue(ctx, "gone", tokenauth.IssueOptions{})
	require.NoError(t, err)
	expiring, _, err := a.Issue(ctx, "1", tokenauth.IssueOptions{TTL: time.Nanosecond})
	require.NoError(t, err)
	_, ops, _ := hooks.take()
	assert.Equal(t, []string{"create", "create", "create"}, ops)

	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, tc := range []struct {
		header  string
		handler http.Handler
		reason  string
	}{
		{"Token " + key, a.Require()(ok), ""},
		{"", a.Require()(ok), "missing"},
		{"", a.Optional()(ok), "missing"},
		{"Token", a.Require()(ok), "malformed"},
		{"Token tka_short", a.Require()(ok), "malformed"},
		{"Token " + unknownKey(t), a.Require()(ok), "unknown"},
		{"Token " + expiring, a.Require()(ok), "expired"},
		{"Token " + gone, a.Require()(ok), "inactive_user"},
		{"Token " + key, a.Require("admin")(ok), "insufficient_scope"},
		// Nested: the outer check reports; the inner one reuses it.
		{"Token " + key, a.Require()(a.Require("read")(ok)), ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		tc.handler.ServeHTTP(httptest.NewRecorder(), r)
		reasons, _, _ := hooks.take()
		assert.Equal(t, []string{tc.reason}, reasons, "header %q", tc.header)
	}

	failing.SetErr(errors.New("connection refused"))
	_, err = a.Verify(ctx, key)
	require.ErrorIs(t, err, tokenauth.ErrUnavailable)
	reasons, ops, failed := hooks.take()
	assert.Equal(t, []string{"store_failure"}, reasons)
	assert.Equal(t, []string{"find"}, ops)
	assert.Equal(t, []string{"find"}, failed)
	failing.SetErr(nil)

	_, err = a.Verify(ctx, key)
	require.NoError(t, err)
	_, ops, _ = hooks.take()
	assert.Equal(t, []string{"find", "load_user"}, ops)
	_, err = a.RevokeAll(ctx, "1")
	require.NoError(t, err)
	_, ops, _ = hooks.take()
	assert.Equal(t, []string{"delete_user"}, ops)
}
