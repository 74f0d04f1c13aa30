package otelauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

const userID = "user-4217"

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }

// TestCheckThroughRequire wires a real Authenticator and reads what each
// kind of request records.
func TestCheckThroughRequire(t *testing.T) {
	h := newHarness(t)
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{OnCheck: h.tel.OnCheck, OnStoreCall: h.tel.OnStoreCall})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	key, _, err := auth.Issue(context.Background(), userID, tokenauth.IssueOptions{Scopes: []string{"read"}})
	require.NoError(t, err)
	other, _, err := auth.Issue(context.Background(), "user-9", tokenauth.IssueOptions{})
	require.NoError(t, err)
	_, err = auth.RevokeAll(context.Background(), "user-9")
	require.NoError(t, err)

	api := auth.Require()(http.HandlerFunc(ok))
	admin := auth.Require("admin")(http.HandlerFunc(ok))
	for _, c := range []struct {
		name, header string
		h            http.Handler
		status       int
	}{
		{"valid", "Token " + key, api, http.StatusOK},
		{"valid again", "Token " + key, api, http.StatusOK},
		{"missing", "", api, http.StatusUnauthorized},
		{"malformed", "Token a b", api, http.StatusUnauthorized},
		{"revoked", "Token " + other, api, http.StatusUnauthorized},
		{"scope", "Token " + key, admin, http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		assert.Equal(t, c.status, h.serve(c.h, r).Code, c.name)
	}

	m := h.metrics(t)
	auths := m["tokenauth.authenticate.duration"]
	assert.Equal(t, "s", auths.Unit)
	assert.Equal(t, map[string]uint64{
		"tokenauth.authenticate.result=success":                               2,
		"tokenauth.authenticate.result=none":                                  1,
		"error.type=malformed,tokenauth.authenticate.result=failure":          1,
		"error.type=unknown,tokenauth.authenticate.result=failure":            1,
		"error.type=insufficient_scope,tokenauth.authenticate.result=failure": 1,
	}, histogramCounts(t, auths))
	hist := auths.Data.(metricdata.Histogram[float64])
	assert.Equal(t, metricdata.CumulativeTemporality, hist.Temporality)
	for _, dp := range hist.DataPoints {
		assert.Greater(t, dp.Sum, 0.0)
		assert.Less(t, dp.Sum, 5.0, "seconds, not nanoseconds")
	}

	stores := m["tokenauth.store.duration"]
	assert.Equal(t, "s", stores.Unit)
	// Two issues, the revocation's delete_user, and a find for each key
	// that reached the store; a not-found is an answer, not an error.
	counts := histogramCounts(t, stores)
	assert.Equal(t, uint64(2), counts["tokenauth.store.operation=create"])
	assert.Equal(t, uint64(1), counts["tokenauth.store.operation=delete_user"])
	assert.Equal(t, uint64(4), counts["tokenauth.store.operation=find"])
	for k := range counts {
		assert.NotContains(t, k, "error.type", "no store call failed")
	}

	// One authenticate span per check, each a child of its request's span.
	var checks []string
	parents := map[string]bool{}
	for _, s := range h.spans.Ended() {
		if s.Name() == "GET /api/" {
			parents[s.SpanContext().SpanID().String()] = true
		}
	}
	for _, s := range h.spans.Ended() {
		switch s.Name() {
		case "tokenauth.authenticate":
			checks = append(checks, spanAttrs(s))
			assert.True(t, parents[s.Parent().SpanID().String()], "a child of the request's span")
			assert.Equal(t, codes.Unset, s.Status().Code, "a refused token is no server error")
			assert.False(t, s.StartTime().After(s.EndTime()))
		default:
			assert.Equal(t, "GET /api/", s.Name(), "store calls are measured, not traced")
		}
	}
	assert.ElementsMatch(t, []string{
		"tokenauth.authenticate.result=success",
		"tokenauth.authenticate.result=success",
		"tokenauth.authenticate.result=none",
		"error.type=malformed,tokenauth.authenticate.result=failure",
		"error.type=unknown,tokenauth.authenticate.result=failure",
		"error.type=insufficient_scope,tokenauth.authenticate.result=failure",
	}, checks)

	for _, v := range h.everyValue(t) {
		assert.NotContains(t, v, userID)
		assert.NotContains(t, v, "user-9")
		assert.NotContains(t, v, key[4:20])
	}
}

// failingStore answers every Find with err.
type failingStore struct {
	*memstore.Store
	err error
}

func (s failingStore) Find(context.Context, []byte) (*tokenauth.Token, error) { return nil, s.err }

// TestStoreFailure: the one check outcome whose span is an error, and the
// store call's error.type from its closed set.
func TestStoreFailure(t *testing.T) {
	for _, c := range []struct {
		name, errorType string
		err             error
	}{
		{"timeout", "timeout", context.DeadlineExceeded},
		{"canceled", "canceled", context.Canceled},
		{"other", "_OTHER", errors.New("dial tcp 10.0.0.7:5432: connection refused")},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			store := failingStore{memstore.New(), c.err}
			auth, err := tokenauth.New(store, tokenauth.Options{
				OnCheck: h.tel.OnCheck, OnStoreCall: h.tel.OnStoreCall,
				Logger: slog.New(slog.DiscardHandler),
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = auth.Close() })
			key, _, err := auth.Issue(context.Background(), userID, tokenauth.IssueOptions{})
			require.NoError(t, err)

			r := httptest.NewRequest(http.MethodGet, "/api/", nil)
			r.Header.Set("Authorization", "Token "+key)
			assert.Equal(t, http.StatusServiceUnavailable, h.serve(auth.Require()(http.HandlerFunc(ok)), r).Code)

			m := h.metrics(t)
			assert.Equal(t, map[string]uint64{
				"error.type=store_failure,tokenauth.authenticate.result=failure": 1,
			}, histogramCounts(t, m["tokenauth.authenticate.duration"]))
			assert.Equal(t, map[string]uint64{
				"tokenauth.store.operation=create":                              1,
				"error.type=" + c.errorType + ",tokenauth.store.operation=find": 1,
			}, histogramCounts(t, m["tokenauth.store.duration"]))

			var names []string
			for _, s := range h.spans.Ended() {
				names = append(names, s.Name())
				switch s.Name() {
				case "tokenauth.authenticate":
					assert.Equal(t, codes.Error, s.Status().Code)
					assert.Equal(t, "store_failure", s.Status().Description)
				}
				assert.Empty(t, s.Events(), "no recorded error: its text may name a host")
			}
			assert.ElementsMatch(t, []string{"tokenauth.authenticate", "GET /api/"}, names,
				"store calls are measured, not traced")
		})
	}
}

// TestCheckReasons maps every reason of the core's closed set, and one
// outside it, and records spans only under a span.
func TestCheckReasons(t *testing.T) {
	h := newHarness(t)
	reasons := map[string]string{
		"":                    "tokenauth.authenticate.result=success",
		"missing":             "tokenauth.authenticate.result=none",
		"malformed":           "error.type=malformed,tokenauth.authenticate.result=failure",
		"unknown":             "error.type=unknown,tokenauth.authenticate.result=failure",
		"expired":             "error.type=expired,tokenauth.authenticate.result=failure",
		"not_yet_valid":       "error.type=not_yet_valid,tokenauth.authenticate.result=failure",
		"inactive_user":       "error.type=inactive_user,tokenauth.authenticate.result=failure",
		"insufficient_scope":  "error.type=insufficient_scope,tokenauth.authenticate.result=failure",
		"cross_origin":        "error.type=cross_origin,tokenauth.authenticate.result=failure",
		"address_not_allowed": "error.type=address_not_allowed,tokenauth.authenticate.result=failure",
		"rate_limited":        "error.type=rate_limited,tokenauth.authenticate.result=failure",
		"store_failure":       "error.type=store_failure,tokenauth.authenticate.result=failure",
		"a future reason":     "error.type=_OTHER,tokenauth.authenticate.result=failure",
	}
	want := map[string]uint64{}
	for r, a := range reasons {
		h.tel.OnCheck(context.Background(), r, time.Millisecond)
		want[a] = 1
	}
	assert.Equal(t, want, histogramCounts(t, h.metrics(t)["tokenauth.authenticate.duration"]))
	assert.Empty(t, h.spans.Ended(), "no span without a request's span")

	ctx, parent := h.tracer.Start(context.Background(), "request")
	h.tel.OnCheck(ctx, "", 3*time.Millisecond)
	parent.End()
	spans := h.spans.Ended()
	require.Len(t, spans, 2)
	s := spans[0]
	assert.Equal(t, "tokenauth.authenticate", s.Name())
	assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID())
	assert.Equal(t, 3*time.Millisecond, s.EndTime().Sub(s.StartTime()), "dated back by the time the check took")

	unsampled := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true,
	}))
	h.tel.OnCheck(unsampled, "", time.Millisecond)
	assert.Len(t, h.spans.Ended(), 2, "no span under a parent that is not sampled")
}
