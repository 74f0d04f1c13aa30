package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
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

	maxPrefixesLen    = 65535 // bytes of an encoded prefix list: MySQL's TEXT
	maxCreatedFromLen = 64    // bytes: any netip.Addr's text, zone included
	maxUserAgentLen   = 256   // bytes, as tokenauth.Token cuts it
)

// ErrInvalidRecord is wrapped by the error Create returns for a token that
// the schema cannot hold: an empty ID, a field longer than its column,
// text that is not valid UTF-8 or contains NUL, an empty or over-long
// digest, a zero CreatedAt, a time outside the years 1 to 9999, or an
// invalid IP prefix.
var ErrInvalidRecord = errors.New("sqlstore: invalid token record")

// scanToken reads one row of the columns constant.
func scanToken(row interface{ Scan(...any) error }) (*tokenauth.Token, error) {
	// One allocation for every destination, which escape through Scan's
	// arguments: separate variables would cost one each (15 of 17 columns).
	r := new(rowScan)
	t := &r.t
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &r.scopes, &t.Digest, &r.created, &r.expires, &r.lastUse, &r.maxExp,
		&r.personal, &r.notBefore, &r.allowed, &r.denied, &r.rateLimit, &r.rateWindow, &r.createdFrom, &r.userAgent); err != nil {
		return nil, err
	}
	var err error
	if t.Scopes, err = decodeScopes(r.scopes); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.MaxExpiresAt = r.created.t, r.expires.t, r.lastUse.t, r.maxExp.t
	t.Personal, t.NotBefore = r.personal.b, r.notBefore.t
	t.AllowedIPs, t.DeniedIPs = r.allowed.p, r.denied.p
	t.RateLimit, t.RateWindow = int(r.rateLimit.n), time.Duration(r.rateWindow.n)
	t.CreatedFrom, t.UserAgent = r.createdFrom.s, r.userAgent.s
	out := *t // a token of its own: r is not kept alive by a cached token
	return &out, nil
}

// rowScan holds the destinations of scanToken.
type rowScan struct {
	t                                            tokenauth.Token
	scopes                                       string
	created, expires, lastUse, maxExp, notBefore timeColumn
	personal                                     boolColumn
	allowed, denied                              prefixesColumn
	rateLimit, rateWindow                        intColumn
	createdFrom, userAgent                       textColumn
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

// boolColumn scans personal: bool (PostgreSQL), an integer (MySQL's
// TINYINT(1), SQLite) or its text (MySQL without prepared statements, or
// PostgreSQL's "t" and "f"). NULL, which the column never holds, is false.
type boolColumn struct{ b bool }

func (c *boolColumn) Scan(v any) error {
	var err error
	switch v := v.(type) {
	case nil:
		c.b = false
	case bool:
		c.b = v
	case int64:
		c.b = v != 0
	case []byte:
		c.b, err = strconv.ParseBool(string(v))
	case string:
		c.b, err = strconv.ParseBool(v)
	default:
		err = fmt.Errorf("a %T column value", v)
	}
	if err != nil {
		return errors.New("sqlstore: a boolean column holds something else")
	}
	return nil
}

// intColumn scans a nullable integer; NULL is 0. MySQL without prepared
// statements sends it as text.
type intColumn struct{ n int64 }

func (c *intColumn) Scan(v any) error {
	var err error
	switch v := v.(type) {
	case nil:
		c.n = 0
	case int64:
		c.n = v
	case []byte:
		c.n, err = strconv.ParseInt(string(v), 10, 64)
	case string:
		c.n, err = strconv.ParseInt(v, 10, 64)
	default:
		err = fmt.Errorf("a %T column value", v)
	}
	if err != nil {
		return errors.New("sqlstore: an integer column holds something else")
	}
	return nil
}

// textColumn scans nullable text; NULL is "".
type textColumn struct{ s string }

func (c *textColumn) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		c.s = ""
	case string:
		c.s = v
	case []byte:
		c.s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot read text from a %T column value", v)
	}
	return nil
}

// prefixesColumn scans allowed_ips or denied_ips: NULL, or IP prefixes
// separated by commas, each as netip.Prefix writes it ("10.0.0.0/8",
// "2001:db8::/32"), so that a prefix with host bits set ("10.1.2.3/8")
// reads back as it was given.
type prefixesColumn struct{ p []netip.Prefix }

func (c *prefixesColumn) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
		c.p = nil
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot read IP prefixes from a %T column value", v)
	}
	var err error
	c.p, err = decodePrefixes(s)
	return err
}

// encodePrefixes writes prefixes for prefixesColumn: NULL for none.
func encodePrefixes(prefixes []netip.Prefix) (any, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	var b []byte
	for i, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: an invalid IP prefix", ErrInvalidRecord)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = p.AppendTo(b)
	}
	if len(b) > maxPrefixesLen {
		return nil, fmt.Errorf("%w: IP prefixes take more than %d bytes", ErrInvalidRecord, maxPrefixesLen)
	}
	return string(b), nil
}

func decodePrefixes(s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(f))
		if err != nil {
			// Not quoted: the column is the host's to fix, and may be
			// long.
			return nil, errors.New("sqlstore: an IP prefix column holds something other than comma-separated prefixes")
		}
		out = append(out, p)
	}
	return out, nil
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
	case len(t.CreatedFrom) > maxCreatedFromLen:
		return bad(fmt.Sprintf("CreatedFrom longer than %d bytes", maxCreatedFromLen))
	case len(t.UserAgent) > maxUserAgentLen:
		return bad(fmt.Sprintf("UserAgent longer than %d bytes", maxUserAgentLen))
	}
	for _, f := range [...]struct{ name, s string }{
		{"ID", t.ID}, {"user ID", t.UserID}, {"name", t.Name}, {"CreatedFrom", t.CreatedFrom}, {"UserAgent", t.UserAgent},
	} {
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
	}{{"CreatedAt", t.CreatedAt}, {"ExpiresAt", t.ExpiresAt}, {"LastUsedAt", t.LastUsedAt}, {"MaxExpiresAt", t.MaxExpiresAt}, {"NotBefore", t.NotBefore}} {
		if y := f.t.UTC().Year(); !f.t.IsZero() && (y < 1 || y > 9999) {
			return bad(f.name + " is outside the years 1 to 9999")
		}
	}
	return nil
}

func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
