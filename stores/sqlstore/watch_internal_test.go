package sqlstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLogCursor(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	type step struct {
		seq      int64
		new      bool
		wantGaps [][2]int64 // after the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, true, nil}, {2, true, nil}, {3, true, nil}, {3, false, nil}, {2, false, nil}}},
		{"a gap filled late", []step{
			{3, true, [][2]int64{{1, 2}}}, {5, true, [][2]int64{{1, 2}, {4, 4}}},
			{4, true, [][2]int64{{1, 2}}}, {4, false, [][2]int64{{1, 2}}},
		}},
		{"a wide gap filled piecemeal", []step{
			{10, true, [][2]int64{{1, 9}}},
			{5, true, [][2]int64{{1, 4}, {6, 9}}},
			{1, true, [][2]int64{{2, 4}, {6, 9}}},
			{9, true, [][2]int64{{2, 4}, {6, 8}}},
			{5, false, [][2]int64{{2, 4}, {6, 8}}},
			{7, true, [][2]int64{{2, 4}, {6, 6}, {8, 8}}},
			{6, true, [][2]int64{{2, 4}, {8, 8}}},
			{8, true, [][2]int64{{2, 4}}},
			{12, true, [][2]int64{{2, 4}, {11, 11}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c logCursor
			for i, st := range tc.steps {
				assert.Equal(t, st.new, c.saw(st.seq, t0), "step %d: saw(%d)", i, st.seq)
				var gaps [][2]int64
				for _, g := range c.gaps {
					gaps = append(gaps, [2]int64{g.from, g.to})
				}
				assert.Equal(t, st.wantGaps, gaps, "step %d: gaps after saw(%d)", i, st.seq)
			}
		})
	}

	t.Run("gaps are waited for gapWait", func(t *testing.T) {
		c := logCursor{last: 1}
		c.saw(3, t0)
		c.saw(6, t0.Add(time.Second))
		c.expire(t0.Add(gapWait))
		assert.Len(t, c.gaps, 2)
		c.expire(t0.Add(gapWait + time.Nanosecond))
		assert.Equal(t, []seqGap{{4, 5, t0.Add(time.Second)}}, c.gaps)
		c.expire(t0.Add(time.Second + gapWait + time.Nanosecond))
		assert.Empty(t, c.gaps)
		assert.True(t, c.saw(7, t0), "the cursor goes on")
		assert.False(t, c.saw(5, t0), "a number no longer waited for is skipped")
	})
	t.Run("at most maxGaps, the newest", func(t *testing.T) {
		var c logCursor
		for i := range int64(maxGaps + 50) {
			c.saw(2*i+2, t0) // every odd number missing
		}
		assert.Len(t, c.gaps, maxGaps)
		assert.Equal(t, int64(2*(maxGaps+50)-1), c.gaps[maxGaps-1].from)
		assert.Equal(t, int64(101), c.gaps[0].from)
	})
	t.Run("query", func(t *testing.T) {
		c := logCursor{last: 10, gaps: []seqGap{{2, 4, t0}, {8, 8, t0}}}
		q, args := c.query("SELECT … WHERE seq > ?")
		assert.Equal(t, "SELECT … WHERE seq > ? OR seq BETWEEN ? AND ? OR seq BETWEEN ? AND ? ORDER BY seq LIMIT 1000", q)
		assert.Equal(t, []any{int64(10), int64(2), int64(4), int64(8), int64(8)}, args)
	})
}
