package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// A revocation through the Store prunes the log when five minutes have
// passed since the last did, so that the log stays bounded where no Watch
// polls it.
func TestRevocationsPruneTheLog(t *testing.T) {
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	require.NoError(t, err)
	defer db.Close()
	s, err := New(db, Postgres, Options{})
	require.NoError(t, err)
	ctx := context.Background()
	bounds := `SELECT (SELECT MAX(seq) FROM "tokenauth_tokens_revocations" WHERE created_at < $1),` +
		` (SELECT MIN(seq) FROM "tokenauth_tokens_revocations" WHERE created_at >= $2),` +
		` (SELECT MAX(seq) FROM "tokenauth_tokens_revocations")`

	mock.ExpectExec(`DELETE FROM "tokenauth_tokens" WHERE id = $1`).WithArgs("a").WillReturnResult(sqlmock.NewResult(0, 1))
	require.NoError(t, s.Delete(ctx, "a"), "not yet five minutes after New: no prune")

	s.nextPrune.Store(time.Now().Add(-time.Second).UnixNano())
	mock.ExpectExec(`DELETE FROM "tokenauth_tokens" WHERE id = $1`).WithArgs("b").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectQuery(bounds).WillReturnRows(sqlmock.NewRows([]string{"old", "young", "newest"}).AddRow(7, 9, 12))
	mock.ExpectExec(`DELETE FROM "tokenauth_tokens_revocations" WHERE seq <= $1`).WithArgs(7).WillReturnResult(sqlmock.NewResult(0, 7))
	require.NoError(t, s.Delete(ctx, "b"))

	mock.ExpectExec(`UPDATE "tokenauth_tokens" SET` +
		` expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $2 ELSE expires_at END,` +
		` max_expires_at = CASE WHEN max_expires_at IS NULL OR max_expires_at > $3 THEN $4 ELSE max_expires_at END` +
		` WHERE id = $5`).WillReturnResult(sqlmock.NewResult(0, 1))
	require.NoError(t, s.Expire(ctx, "c", time.Now()), "pruned a moment ago: not again")

	s.nextPrune.Store(time.Now().Add(-time.Second).UnixNano())
	mock.ExpectExec(`INSERT INTO "tokenauth_tokens_cutoffs" (user_id, not_before) VALUES ($1, $2)` +
		` ON CONFLICT (user_id) DO UPDATE SET not_before = GREATEST("tokenauth_tokens_cutoffs".not_before, EXCLUDED.not_before)`).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectBegin()
	mock.ExpectExec(`DELETE FROM "tokenauth_tokens" WHERE user_id = $1`).WillReturnResult(sqlmock.NewResult(0, 2))
	mock.ExpectCommit()
	mock.ExpectQuery(bounds).WillReturnError(errors.New("down"))
	n, err := s.DeleteUser(ctx, "u", time.Now())
	require.NoError(t, err, "a failed prune is housekeeping, not the revocation's failure")
	assert.Equal(t, 2, n)
	assert.Greater(t, s.nextPrune.Load(), time.Now().Add(4*time.Minute).UnixNano())
	assert.NoError(t, mock.ExpectationsWereMet())
}
