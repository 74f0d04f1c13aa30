package otelauth_test

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveWatchMode(t *testing.T) {
	h := newHarness(t)
	var mode atomic.Value
	mode.Store("listen")
	require.NoError(t, h.tel.ObserveWatchMode(func() string { return mode.Load().(string) }))
	points := func() map[string]int64 {
		m := h.metrics(t)["tokenauth.revocation.mode"]
		assert.Equal(t, "1", m.Unit)
		return int64Points(t, m)
	}
	assert.Equal(t, map[string]int64{"tokenauth.revocation.mode=listen": 1, "tokenauth.revocation.mode=poll": 0}, points())
	mode.Store("poll")
	assert.Equal(t, map[string]int64{"tokenauth.revocation.mode=listen": 0, "tokenauth.revocation.mode=poll": 1}, points())
	mode.Store("carrier pigeon")
	assert.Equal(t, map[string]int64{
		"tokenauth.revocation.mode=listen": 0, "tokenauth.revocation.mode=poll": 0, "tokenauth.revocation.mode=_OTHER": 1,
	}, points())
	assert.Error(t, h.tel.ObserveWatchMode(nil))
}
