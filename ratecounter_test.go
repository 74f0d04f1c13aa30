package tokenauth

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryCounterBound: the in-process counter holds at most
// maxRateKeys windows; full of open windows it fails (an outage, never a
// pass), and makes room once they end, without sweeping on every call.
func TestMemoryCounterBound(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newMemoryCounter(func() time.Time { return now })
	ctx := context.Background()
	for i := range maxRateKeys {
		_, ok, err := c.count(ctx, strconv.Itoa(i), 1, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	_, ok, err := c.count(ctx, "one more", 1, time.Minute)
	assert.ErrorIs(t, err, errRateKeysFull)
	assert.False(t, ok)
	wait, ok, err := c.count(ctx, "7", 1, time.Minute)
	require.NoError(t, err, "a key already counted is still answered")
	assert.False(t, ok)
	assert.Equal(t, time.Minute, wait)

	now = now.Add(30 * time.Second)
	_, ok, err = c.count(ctx, "short", 1, time.Second)
	assert.ErrorIs(t, err, errRateKeysFull, "no window has ended")
	assert.False(t, ok)
	now = now.Add(30 * time.Second)
	_, ok, err = c.count(ctx, "one more", 1, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Len(t, c.windows, 1, "ended windows swept")
}

func TestMemoryCounterWindows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newMemoryCounter(func() time.Time { return now })
	ctx := context.Background()
	for range 2 {
		_, ok, _ := c.count(ctx, "k", 2, 10*time.Second)
		assert.True(t, ok)
	}
	now = now.Add(4 * time.Second)
	wait, ok, _ := c.count(ctx, "k", 2, 10*time.Second)
	assert.False(t, ok)
	assert.Equal(t, 6*time.Second, wait, "until the window that began with the first call ends")
	now = now.Add(6 * time.Second)
	_, ok, _ = c.count(ctx, "k", 2, 10*time.Second)
	assert.True(t, ok, "the next window")
}
