package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// DefaultDRFTable is the table Django REST Framework's authtoken app
// creates.
const DefaultDRFTable = "authtoken_token"

// DefaultUsersTable is Django's users table, where Import checks that a
// key's user is active.
const DefaultUsersTable = "auth_user"

// ImportOptions says where Import finds keys and their users. The zero
// value reads Django REST Framework's authtoken_token table and Django's
// auth_user.
type ImportOptions struct {
	// Table holds the keys: an unquoted SQL identifier, optionally
	// schema-qualified (schema.table). Default DefaultDRFTable.
	Table string
	// KeyColumn, UserColumn and CreatedColumn name the columns of the
	// key, its user's ID and when it was created. Defaults "key",
	// "user_id" and "created", DRF's. CreatedColumn "-" means the table
	// has none: tokens are then created at the import.
	KeyColumn, UserColumn, CreatedColumn string

	// UsersTable holds the users, joined on UsersIDColumn = the key's
	// user: the keys of users whose ActiveColumn is false, or who are
	// missing, are not imported (a deactivated Django user's key must not
	// start working in Go). Default DefaultUsersTable; name the table of
	// a custom user model (AUTH_USER_MODEL), or "-" to import every key
	// unchecked. UsersIDColumn and ActiveColumn default to "id" and
	// "is_active".
	UsersTable, UsersIDColumn, ActiveColumn string
	// IncludeInactive imports the keys of inactive users too, without
	// reading the users table.
	IncludeInactive bool

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
	// Skipped is how many keys an earlier import handled, whether their
	// tokens are still stored or were revoked since: they are never
	// brought back.
	Skipped int
	// Inactive is how many keys were not imported because their user is
	// inactive or missing in the users table.
	Inactive int
	// Revoked is how many keys were created before their user's tokens
	// were revoked in tokenauth (tokenauth.ErrRevoked): not imported.
	Revoked int
	// Invalid is how many rows were not imported because the
	// Authenticator would refuse the key or the user ID is NULL or empty.
	Invalid int
}

// Import copies the keys of a Django service's token table, read from src
// with
//
//	SELECT t.key, t.user_id, t.created, u.is_active FROM authtoken_token AS t
//	LEFT JOIN auth_user AS u ON u.id = t.user_id
//
// (valid on PostgreSQL, MySQL and SQLite alike; tables and columns as
// opts say), into a's store with a.Import, so that clients keep the keys
// they have. Tell a to accept such keys: Django REST Framework's 40-hex
// keys with tokenauth.Options.AcceptLegacyKeys, UUID keys with
// AcceptUUIDKeys. Each key becomes a token with a new ID, the row's user
// ID (a decimal string for integer keys), opts.Name and opts.Scopes,
// CreatedAt from the row (the import time if NULL), and no expiry unless
// a has a DefaultTTL. Keys of inactive users are skipped (see
// ImportOptions.UsersTable). The keys themselves are never stored, logged
// or put in an error. Times without a zone, as Django writes them on
// MySQL and SQLite with USE_TZ = True, are read as UTC.
//
// A key is imported once. Import records the SHA-256 digest of every key
// it imports in the ledger table <table>_imports of s, which Migrate
// creates, before storing its token, and skips keys found there: a key
// revoked in tokenauth since is never brought back by another import,
// and the import can be run again until the switch-over, for new Django
// logins. An import killed between the two writes leaves a key recorded
// but not imported: that key is lost, never a revoked one revived. a
// normally stores into s, directly or through a cache.
//
// Rows are streamed, not loaded into memory; src may be the database s
// is in if its pool allows two connections. On error, the result counts
// the rows handled before it.
func (s *Store) Import(ctx context.Context, src *sql.DB, a *tokenauth.Authenticator, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	switch {
	case src == nil:
		return res, invalidOptions("Import: nil source database")
	case a == nil:
		return res, invalidOptions("Import: nil Authenticator")
	}
	query, err := importQuery(opts)
	if err != nil {
		return res, err
	}
	issue := tokenauth.IssueOptions{Name: cmp.Or(opts.Name, "drf"), Scopes: slices.Clone(opts.Scopes)}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 1000
	}
	table := cmp.Or(opts.Table, DefaultDRFTable)
	rows, err := src.QueryContext(ctx, query)
	if err != nil {
		return res, fmt.Errorf("sqlstore: Import: reading %s: %w", table, err)
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		var (
			key, userID sql.NullString
			createdAt   timeColumn
			active      sql.NullBool
		)
		if err := rows.Scan(&key, &userID, &createdAt, &active); err != nil {
			return res, fmt.Errorf("sqlstore: Import: reading row %d: %w", n, err)
		}
		switch {
		case !active.Valid || !active.Bool:
			res.Inactive++
		case key.String == "" || userID.String == "":
			res.Invalid++
		default:
			o := issue
			o.CreatedAt = createdAt.t
			if err := s.importKey(ctx, a, uuidForm(key.String), userID.String, o, &res); err != nil {
				return res, fmt.Errorf("sqlstore: Import: row %d: %w", n, err)
			}
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

// importQuery returns the query of Import: the key, user ID, creation time
// and whether the user is active (TRUE when not checked).
func importQuery(opts ImportOptions) (string, error) {
	table := cmp.Or(opts.Table, DefaultDRFTable)
	keyCol, userCol, createdCol := cmp.Or(opts.KeyColumn, "key"), cmp.Or(opts.UserColumn, "user_id"), cmp.Or(opts.CreatedColumn, "created")
	users, usersID, active := cmp.Or(opts.UsersTable, DefaultUsersTable), cmp.Or(opts.UsersIDColumn, "id"), cmp.Or(opts.ActiveColumn, "is_active")
	for _, ident := range []string{table, keyCol, userCol, createdCol, users, usersID, active} {
		if ident != "-" && !isQualifiedIdent(ident) {
			return "", invalidOptions(fmt.Sprintf("Import: %q must be an SQL identifier, optionally schema-qualified", ident))
		}
	}
	if keyCol == "-" || userCol == "-" || usersID == "-" || active == "-" {
		return "", invalidOptions("Import: the key, user, users' ID and active columns cannot be -")
	}
	created := "NULL"
	if createdCol != "-" {
		created = "t." + createdCol
	}
	// A column name after "t." needs no quoting even where it is a
	// reserved word (key, on MySQL), so one query suits every dialect.
	q := "SELECT t." + keyCol + ", t." + userCol + ", " + created
	if opts.IncludeInactive || users == "-" {
		return q + ", 1 = 1 FROM " + table + " AS t", nil
	}
	return q + ", u." + active + " FROM " + table + " AS t LEFT JOIN " + users + " AS u ON u." + usersID + " = t." + userCol, nil
}

// importKey imports one key, recording it in the ledger first, and counts
// the outcome in res. It returns only failures that must stop the import.
func (s *Store) importKey(ctx context.Context, a *tokenauth.Authenticator, key, userID string, o tokenauth.IssueOptions, res *ImportResult) error {
	digest := tokenauth.SHA256.Digest(key)
	switch err := s.record(ctx, digest); {
	case errors.Is(err, tokenauth.ErrExists):
		res.Skipped++
		return nil
	case err != nil:
		return fmt.Errorf("recording the key in the ledger: %w", err)
	}
	_, err := a.Import(ctx, key, userID, o)
	switch {
	case err == nil:
		res.Imported++
		return nil
	case errors.Is(err, tokenauth.ErrExists):
		res.Skipped++ // imported before the ledger existed
		return nil
	case errors.Is(err, tokenauth.ErrRevoked):
		res.Revoked++ // kept in the ledger: never to be imported
		return nil
	}
	// Not imported: a later run may import it, with other options or
	// once the store answers.
	undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if delErr := s.unrecord(undo, digest); delErr != nil {
		return errors.Join(err, fmt.Errorf("removing the key from the ledger: %w", delErr))
	}
	if errors.Is(err, tokenauth.ErrInvalidToken) {
		res.Invalid++
		return nil
	}
	return err
}

// record adds digest to the ledger, or returns tokenauth.ErrExists.
func (s *Store) record(ctx context.Context, digest []byte) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.q.recordImport, digest, s.at(time.Now()))
	if err != nil && s.isUniqueViolation(err) {
		return tokenauth.ErrExists
	}
	return err
}

// unrecord removes digest from the ledger.
func (s *Store) unrecord(ctx context.Context, digest []byte) error {
	_, err := s.deleteWhere(ctx, "import", s.q.unrecordImport, digest)
	return err
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
