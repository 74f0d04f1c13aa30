package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-tokenauth/tokenauth"
)

// DefaultDRFTable is the table Django REST Framework's authtoken app
// creates.
const DefaultDRFTable = "authtoken_token"

// ImportOptions says where Import finds keys. The zero value reads Django
// REST Framework's authtoken_token table.
type ImportOptions struct {
	// Table holds the keys: an unquoted SQL identifier, optionally
	// schema-qualified (schema.table). Default DefaultDRFTable.
	Table string
	// KeyColumn, UserColumn and CreatedColumn name the columns of the
	// key, its user's ID and when it was created. Defaults "key",
	// "user_id" and "created", DRF's. CreatedColumn "-" means the table
	// has none: tokens are then created at the import.
	KeyColumn, UserColumn, CreatedColumn string
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
	// Invalid is how many rows were not imported because the
	// Authenticator would refuse the key or the user ID is NULL or empty.
	Invalid int
}

// Import copies the keys of another service's token table, read from src
// with
//
//	SELECT t.key, t.user_id, t.created FROM authtoken_token AS t
//
// (valid on PostgreSQL, MySQL and SQLite alike; table and columns as opts
// say), into the store of a with a.Import, so that clients keep the keys
// they have. Tell a to accept such keys: Django REST Framework's 40-hex
// keys with tokenauth.Options.AcceptLegacyKeys, UUID keys with
// AcceptUUIDKeys. Each key becomes a token with a new ID, the row's user
// ID (a decimal string for integer keys), opts.Name and opts.Scopes,
// CreatedAt from the row (the import time if NULL), and no expiry unless
// a has a DefaultTTL. The keys themselves are never stored, logged or put
// in an error. Times without a zone, as Django writes them on MySQL and
// SQLite with USE_TZ = True, are read as UTC.
//
// Import is idempotent: a key already stored is counted as skipped. Rows
// are streamed, not loaded into memory; src may be the database a stores
// in if its pool allows two connections. On error, the result counts the
// rows handled before it.
func Import(ctx context.Context, src *sql.DB, a *tokenauth.Authenticator, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	switch {
	case src == nil:
		return res, invalidOptions("Import: nil source database")
	case a == nil:
		return res, invalidOptions("Import: nil Authenticator")
	}
	table := cmp.Or(opts.Table, DefaultDRFTable)
	keyCol, userCol, createdCol := cmp.Or(opts.KeyColumn, "key"), cmp.Or(opts.UserColumn, "user_id"), cmp.Or(opts.CreatedColumn, "created")
	for _, ident := range []string{table, keyCol, userCol, createdCol} {
		if ident != "-" && !isQualifiedIdent(ident) {
			return res, invalidOptions(fmt.Sprintf("Import: %q must be an SQL identifier, optionally schema-qualified", ident))
		}
	}
	if keyCol == "-" || userCol == "-" {
		return res, invalidOptions("Import: the key and user columns are required")
	}
	created := "NULL"
	if createdCol != "-" {
		created = "t." + createdCol
	}
	issue := tokenauth.IssueOptions{Name: cmp.Or(opts.Name, "drf"), Scopes: slices.Clone(opts.Scopes)}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 1000
	}

	// A column name after "t." needs no quoting even where it is a
	// reserved word (key, on MySQL), so one query suits every dialect.
	rows, err := src.QueryContext(ctx, "SELECT t."+keyCol+", t."+userCol+", "+created+" FROM "+table+" AS t")
	if err != nil {
		return res, fmt.Errorf("sqlstore: Import: reading %s: %w", table, err)
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		var (
			key, userID sql.NullString
			createdAt   timeColumn
		)
		if err := rows.Scan(&key, &userID, &createdAt); err != nil {
			return res, fmt.Errorf("sqlstore: Import: reading row %d: %w", n, err)
		}
		_, err := a.Import(ctx, uuidForm(key.String), userID.String, createdAt.t, issue)
		switch {
		case err == nil:
			res.Imported++
		case errors.Is(err, tokenauth.ErrExists):
			res.Skipped++
		case errors.Is(err, tokenauth.ErrInvalidToken) || userID.String == "":
			res.Invalid++
		default:
			return res, fmt.Errorf("sqlstore: Import: row %d: %w", n, err)
		}
		if opts.Progress != nil && n%every == 0 {
			opts.Progress(res)
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("sqlstore: Import: reading %s: %w", table, err)
	}
	return res, nil
}

// uuidForm returns a 32-hex-digit key in the hyphenated form of a UUID:
// Django keeps a UUIDField so on SQLite and MySQL, while its clients hold
// str(uuid), hyphens included. Other keys are returned as they are.
func uuidForm(key string) string {
	if len(key) != 32 || strings.Trim(strings.ToLower(key), "0123456789abcdef") != "" {
		return key
	}
	key = strings.ToLower(key)
	return key[:8] + "-" + key[8:12] + "-" + key[12:16] + "-" + key[16:20] + "-" + key[20:]
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
