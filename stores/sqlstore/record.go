package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth"
)

// Column limits. Create checks them so that every dialect accepts the same
// records, whatever the database's own strictness.
const (
	maxIDLen     = 64    // bytes
	maxUserIDLen = 255   // bytes
	maxNameLen   = 200   // characters
	maxDigestLen = 64    // bytes
	maxScopesLen = 65535 // bytes of JSON: MySQL's TEXT
)

// ErrInvalidRecord is wrapped by the error Create returns for a token that
// the schema cannot hold: an empty ID, a field longer than its column,
// text that is not valid UTF-8 or contains NUL, an empty or over-long
// digest, a zero CreatedAt or a time outside the years 1 to 9999.
var ErrInvalidRecord = errors.New("sqlstore: invalid token record")

// scanToken reads one row of the columns constant.
func scanToken(row interface{ Scan(...any) error }) (*tokenauth.Token, error) {
	var (
		t                                 tokenauth.Token
		scopes                            string
		created, expires, lastUse, maxExp timeColumn
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &scopes, &t.Digest, &created, &expires, &lastUse, &maxExp); err != nil {
		return nil, err
	}
	var err error
	if t.Scopes, err = decodeScopes(scopes); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.MaxExpiresAt = created.t, expires.t, lastUse.t, maxExp.t
	return &t, nil
}

// timeColumn scans a nullable time from any dialect and driver setting:
// time.Time (PostgreSQL, MySQL with parseTime=true), Unix microseconds
// (this package's SQLite columns) or text (MySQL without parseTime, and
// Django's SQLite columns, read by ImportDRF). Text without a zone is UTC.
// NULL is the zero time.
type timeColumn struct{ t time.Time }

// textTimeLayouts are tried in order on textual times.
var textTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",       // MySQL; Django on SQLite
	"2006-01-02 15:04:05.999999999-07:00", // modernc.org/sqlite's time.Time
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func (c *timeColumn) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		c.t = time.Time{}
	case time.Time:
		c.t = v.UTC()
	case int64:
		c.t = time.UnixMicro(v).UTC()
	case []byte:
		return c.parse(string(v))
	case string:
		return c.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot read a time from a %T column value", v)
	}
	return nil
}

func (c *timeColumn) parse(s string) error {
	if strings.HasPrefix(s, "0000-00-00") { // MySQL's zero date
		c.t = time.Time{}
		return nil
	}
	for _, layout := range textTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			c.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("sqlstore: unrecognised time format in a %d-byte column value", len(s))
}

// encodeScopes stores scopes as a JSON array: exact for any scope text.
func encodeScopes(scopes []string) (string, error) {
	if len(scopes) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(scopes)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encoding scopes: %w", err)
	}
	if len(b) > maxScopesLen {
		return "", fmt.Errorf("%w: scopes take more than %d bytes", ErrInvalidRecord, maxScopesLen)
	}
	return string(b), nil
}

func decodeScopes(s string) ([]string, error) {
	if s == "[]" || s == "" {
		return nil, nil
	}
	var scopes []string
	if err := json.Unmarshal([]byte(s), &scopes); err != nil {
		return nil, errors.New("sqlstore: the scopes column does not hold a JSON array of strings")
	}
	if len(scopes) == 0 {
		return nil, nil
	}
	return scopes, nil
}

// checkRecord reports why the schema cannot hold t, without quoting any
// of its values.
func checkRecord(t *tokenauth.Token) error {
	bad := func(msg string) error { return fmt.Errorf("%w: %s", ErrInvalidRecord, msg) }
	switch {
	case t == nil:
		return bad("nil token")
	case t.ID == "":
		return bad("empty ID")
	case len(t.ID) > maxIDLen:
		return bad(fmt.Sprintf("ID longer than %d bytes", maxIDLen))
	case len(t.UserID) > maxUserIDLen:
		return bad(fmt.Sprintf("user ID longer than %d bytes", maxUserIDLen))
	case utf8.RuneCountInString(t.Name) > maxNameLen:
		return bad(fmt.Sprintf("name longer than %d characters", maxNameLen))
	case len(t.Digest) == 0 || len(t.Digest) > maxDigestLen:
		return bad(fmt.Sprintf("digest is %d bytes, want 1 to %d", len(t.Digest), maxDigestLen))
	case t.CreatedAt.IsZero():
		return bad("zero CreatedAt")
	}
	for _, f := range [...]struct{ name, s string }{{"ID", t.ID}, {"user ID", t.UserID}, {"name", t.Name}} {
		if !storableText(f.s) {
			return bad(f.name + " is not valid UTF-8 or contains NUL")
		}
	}
	for _, sc := range t.Scopes {
		if !storableText(sc) {
			return bad("a scope is not valid UTF-8 or contains NUL")
		}
	}
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"CreatedAt", t.CreatedAt}, {"ExpiresAt", t.ExpiresAt}, {"LastUsedAt", t.LastUsedAt}, {"MaxExpiresAt", t.MaxExpiresAt}} {
		if y := f.t.UTC().Year(); !f.t.IsZero() && (y < 1 || y > 9999) {
			return bad(f.name + " is outside the years 1 to 9999")
		}
	}
	return nil
}

func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
