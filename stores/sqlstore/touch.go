package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// maxBatchUses bounds the uses one statement carries: 1,500 parameters on
// MySQL and SQLite, well within their limits (65,535 and 32,766), and
// row locks held for one short statement.
const maxBatchUses = 500

// Touch implements tokenauth.Store: one UPDATE joined to the list of uses
// per 500 distinct tokens. For each row, neither time moves backwards
// (GREATEST, MAX on SQLite), expires_at never moves past max_expires_at,
// and a token without expiry keeps none; a zero time leaves its column
// alone. Tokens that are gone match no row and are skipped; no row is ever
// inserted. Uses of one token are merged first, keeping the latest times,
// which is what separate statements would leave in any order. The uses are sent in ID order, which makes
// concurrent batches from several replicas likely, though not certain, to
// lock rows in the same order: neither database promises the order an
// UPDATE … FROM locks in.
//
//   - PostgreSQL: UPDATE … FROM json_to_recordset($1), the uses as one
//     JSON parameter: the statement text never changes, so the driver
//     prepares it once, and any driver and protocol can send it;
//   - MySQL: UPDATE … JOIN (SELECT ?, ?, ? UNION ALL SELECT …);
//   - SQLite: UPDATE … FROM (VALUES (?, ?, ?), …), which needs SQLite 3.33
//     (2020) or later.
func (s *Store) Touch(ctx context.Context, uses []tokenauth.TokenUse) error {
	uses = mergeUses(uses)
	for len(uses) > 0 {
		n := min(len(uses), maxBatchUses)
		if err := s.touchBatch(ctx, uses[:n]); err != nil {
			return fmt.Errorf("sqlstore: touch: %w", err)
		}
		uses = uses[n:]
	}
	return nil
}

// mergeUses returns one use per token ID, with the latest of its times,
// sorted by ID. IDs that no stored token can have are dropped: an invalid
// UTF-8 ID would otherwise reach PostgreSQL as another, valid one.
func mergeUses(uses []tokenauth.TokenUse) []tokenauth.TokenUse {
	byID := make(map[string]int, len(uses))
	out := make([]tokenauth.TokenUse, 0, len(uses))
	for _, u := range uses {
		if u.ID == "" || len(u.ID) > maxIDLen || !storableText(u.ID) {
			continue
		}
		i, ok := byID[u.ID]
		if !ok {
			byID[u.ID] = len(out)
			out = append(out, u)
			continue
		}
		if u.LastUsed.After(out[i].LastUsed) {
			out[i].LastUsed = u.LastUsed
		}
		if u.ExpiresAt.After(out[i].ExpiresAt) {
			out[i].ExpiresAt = u.ExpiresAt
		}
	}
	slices.SortFunc(out, func(a, b tokenauth.TokenUse) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *Store) touchBatch(ctx context.Context, uses []tokenauth.TokenUse) error {
	query, args, err := s.touchBatchQuery(uses)
	if err != nil {
		return err
	}
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, query, args...)
	return err
}

// touchBatchQuery returns the UPDATE of a batch and its arguments. In the
// SET clause, the target's columns are qualified by tgt (on the left too
// on MySQL, where PostgreSQL forbids it) and the use's values are named lu
// (last use) and ex (expiry). MySQL's and SQLite's GREATEST/MAX return
// NULL when any argument is NULL, PostgreSQL's ignores NULLs; the
// COALESCEs make all three alike. The expiry is capped at max_expires_at
// with a CASE rather than LEAST/MIN, whose NULLs differ alike: the CASE
// gives NULL for a NULL use (PostgreSQL's LEAST would give the cap), and
// the use's value when there is no cap.
func (s *Store) touchBatchQuery(uses []tokenauth.TokenUse) (string, []any, error) {
	t := quote(s.dialect, s.table)
	set := func(tgt, lu, ex, greatest string) string {
		lhs := ""
		if s.dialect == MySQL {
			lhs = tgt
		}
		return lhs + "last_used_at = COALESCE(" + greatest + "(" + tgt + "last_used_at, " + lu + "), " + tgt + "last_used_at, " + lu + ")," +
			" " + lhs + "expires_at = CASE WHEN " + tgt + "expires_at IS NOT NULL THEN COALESCE(" + greatest + "(" + tgt + "expires_at," +
			" CASE WHEN " + tgt + "max_expires_at < " + ex + " THEN " + tgt + "max_expires_at ELSE " + ex + " END), " + tgt + "expires_at) END"
	}
	switch s.dialect {
	case Postgres:
		rows := make([]batchRow, len(uses))
		for i, u := range uses {
			rows[i] = batchRow{ID: u.ID, LastUsed: jsonTime(u.LastUsed), ExpiresAt: jsonTime(u.ExpiresAt)}
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return "", nil, err
		}
		return "UPDATE " + t + " AS t SET " + set("t.", "v.lu", "v.ex", "GREATEST") +
			" FROM json_to_recordset(CAST($1 AS text)::json) AS v(id text, lu timestamptz, ex timestamptz)" +
			" WHERE t.id = v.id", []any{string(b)}, nil
	case MySQL:
		var b strings.Builder
		b.WriteString("UPDATE " + t + " AS t JOIN (")
		const ts = "CAST(? AS DATETIME(6))"
		args := make([]any, 0, 3*len(uses))
		for i, u := range uses {
			if i == 0 {
				b.WriteString("SELECT ? AS id, " + ts + " AS lu, " + ts + " AS ex")
			} else {
				b.WriteString(" UNION ALL SELECT ?, " + ts + ", " + ts)
			}
			args = append(args, u.ID, s.atOrNull(u.LastUsed), s.atOrNull(u.ExpiresAt))
		}
		b.WriteString(") AS v ON t.id = v.id SET " + set("t.", "v.lu", "v.ex", "GREATEST"))
		return b.String(), args, nil
	default: // SQLite
		var b strings.Builder
		b.WriteString("UPDATE " + t + " SET " + set("", "v.column2", "v.column3", "MAX") + " FROM (VALUES ")
		args := make([]any, 0, 3*len(uses))
		for i, u := range uses {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, u.ID, s.atOrNull(u.LastUsed), s.atOrNull(u.ExpiresAt))
		}
		b.WriteString(") AS v WHERE " + t + ".id = v.column1")
		return b.String(), args, nil
	}
}

// batchRow is one use in PostgreSQL's JSON parameter; its keys are the
// column names of json_to_recordset's record.
type batchRow struct {
	ID        string  `json:"id"`
	LastUsed  *string `json:"lu"`
	ExpiresAt *string `json:"ex"`
}

// jsonTime is t as PostgreSQL's timestamptz input reads it, to the
// microsecond, or nil (JSON null, SQL NULL) for the zero time.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
	return &s
}
