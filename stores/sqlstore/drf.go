package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// DefaultDRFTable is the table Django REST Framework's authtoken app
// creates.
const DefaultDRFTable = "authtoken_token"

// ImportOptions configures ImportDRF. The zero value is ready to use.
type ImportOptions struct {
	// Table is DRF's token table in the source database: an unquoted SQL
	// identifier, optionally schema-qualified (schema.table). Default
	// DefaultDRFTable.
	Table string
	// Name is given to every imported token. Default "drf".
	Name string
	// Scopes are given to every imported token. DRF tokens carry none;
	// grant "*" if the host's routes require scopes that DRF clients must
	// keep passing. Default none.
	Scopes []string
	// Progress, when set, is called with the running totals after every
	// ProgressEvery source rows.
	Progress func(ImportResult)
	// ProgressEvery is how many source rows pass between calls to
	// Progress. Default 1000.
	ProgressEvery int
}

// ImportResult counts the rows of an import.
type ImportResult struct {
	// Imported is how many keys were stored as new tokens.
	Imported int
	// Skipped is how many keys were already stored (an earlier import).
	Skipped int
	// Invalid is how many rows were not imported because the key is not
	// 40 lowercase hex characters or the user ID is NULL or empty.
	Invalid int
}

// ImportDRF copies the keys of Django REST Framework's token table, read
// from src with
//
//	SELECT t.key, t.user_id, t.created FROM authtoken_token AS t
//
// (valid on PostgreSQL, MySQL and SQLite alike), into dst, any
// tokenauth.Store. Each key becomes a token with a new ID, the row's user
// ID (a decimal string for DRF's integer keys), opts.Name and opts.Scopes,
// CreatedAt from the row's created (the import time if NULL), no expiry,
// and the digest h computes: pass the Authenticator's Hasher, which must
// also be told to accept DRF keys (tokenauth.Options.AcceptLegacyKeys).
// The keys themselves are never stored, logged or put in an error. Times
// without a zone, as Django writes them on MySQL and SQLite with
// USE_TZ = True, are read as UTC.
//
// ImportDRF is idempotent: a key whose digest dst already holds is
// counted as skipped. Rows are streamed, not loaded into memory; src and
// dst may be the same database if its pool allows two connections. On
// error, the result counts the rows handled before it.
func ImportDRF(ctx context.Context, src *sql.DB, dst tokenauth.Store, h tokenauth.Hasher, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	switch {
	case src == nil:
		return res, invalidOptions("ImportDRF: nil source database")
	case dst == nil:
		return res, invalidOptions("ImportDRF: nil destination store")
	case h == nil:
		return res, invalidOptions("ImportDRF: nil Hasher; pass the Authenticator's (Authenticator.Hasher)")
	}
	table := opts.Table
	if table == "" {
		table = DefaultDRFTable
	}
	if !isQualifiedIdent(table) {
		return res, invalidOptions(fmt.Sprintf("ImportDRF: table %q must be an SQL identifier, optionally schema-qualified", table))
	}
	name := opts.Name
	if name == "" {
		name = "drf"
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 1000
	}

	// A column name after "t." needs no quoting even where it is a
	// reserved word (key, on MySQL), so one query suits every dialect.
	rows, err := src.QueryContext(ctx, "SELECT t.key, t.user_id, t.created FROM "+table+" AS t")
	if err != nil {
		return res, fmt.Errorf("sqlstore: ImportDRF: reading %s: %w", table, err)
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		var (
			key, userID sql.NullString
			created     timeColumn
		)
		if err := rows.Scan(&key, &userID, &created); err != nil {
			return res, fmt.Errorf("sqlstore: ImportDRF: reading row %d: %w", n, err)
		}
		if !tokenauth.IsLegacyKey(key.String) || userID.String == "" {
			res.Invalid++
		} else if err := importKey(ctx, dst, h, key.String, userID.String, name, opts.Scopes, created.t, &res); err != nil {
			return res, fmt.Errorf("sqlstore: ImportDRF: row %d: %w", n, err)
		}
		if opts.Progress != nil && n%every == 0 {
			opts.Progress(res)
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("sqlstore: ImportDRF: reading %s: %w", table, err)
	}
	return res, nil
}

// importKey stores one DRF key in dst unless its digest is already there.
func importKey(ctx context.Context, dst tokenauth.Store, h tokenauth.Hasher, key, userID, name string, scopes []string, created time.Time, res *ImportResult) error {
	digest := h.Digest(key)
	_, err := dst.Find(ctx, digest)
	switch {
	case err == nil:
		res.Skipped++
		return nil
	case !errors.Is(err, tokenauth.ErrNotFound):
		return err
	}
	id, err := tokenauth.NewID()
	if err != nil {
		return err
	}
	if created.IsZero() {
		created = time.Now()
	}
	err = dst.Create(ctx, &tokenauth.Token{
		ID:        id,
		UserID:    userID,
		Name:      name,
		Scopes:    slices.Clone(scopes),
		CreatedAt: created.UTC().Truncate(time.Microsecond),
		Digest:    digest,
	})
	switch {
	case err == nil:
		res.Imported++
	case errors.Is(err, tokenauth.ErrExists):
		res.Skipped++ // imported concurrently
	default:
		return err
	}
	return nil
}

// isQualifiedIdent accepts name or schema.name, each an unquoted SQL
// identifier of ASCII letters, digits and underscores.
func isQualifiedIdent(s string) bool {
	parts := 0
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		if i == 0 || i > 63 {
			return false
		}
		parts++
		s = s[i:]
		if len(s) > 0 {
			if s[0] != '.' || len(s) == 1 {
				return false
			}
			s = s[1:]
		}
	}
	return parts == 1 || parts == 2
}
