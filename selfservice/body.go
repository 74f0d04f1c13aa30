package selfservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of a create body, so that a record fits every store and the
// per-request address check stays short.
const (
	maxNameLen   = 200 // characters: sqlstore's column
	maxScopes    = 50
	maxScopeLen  = 100
	maxRanges    = 100
	maxSeconds   = 100 * 365 * 24 * 60 * 60 // a century: no Duration overflow
	maxRateLimit = 1 << 31
)

// createBody is a decoded create body; zero values are fields not given.
type createBody struct {
	name                  string
	scopes                []string
	ttl                   time.Duration
	notBefore             time.Time
	allowedIPs, deniedIPs []netip.Prefix
	rateLimit             int
	rateWindow            time.Duration
}

// fieldErrors is Django REST Framework's validation error body: field
// name to messages, or to a nested object of them.
type fieldErrors map[string]any

func (e fieldErrors) add(field, msg string) {
	if prev, ok := e[field].([]string); ok {
		e[field] = append(prev, msg)
		return
	}
	if _, ok := e[field]; !ok {
		e[field] = []string{msg}
	}
}

// errParse is a body that is not JSON: {"detail": "JSON parse error - ..."}.
type errParse struct{ msg string }

func (e *errParse) Error() string { return "JSON parse error - " + e.msg }

// decodeCreate reads a create body as DRF's serializers would, but
// strictly: unknown and repeated fields are refused, as is null. It
// returns the body, the field errors (nil if none), or an *errParse. It
// never quotes a value it refuses, only field names and item positions.
func decodeCreate(data []byte) (createBody, fieldErrors, error) {
	var b createBody
	fields, nonField, err := objectFields(data)
	if err != nil {
		return b, nil, err
	}
	errs := fieldErrors{}
	if nonField != "" {
		errs["non_field_errors"] = []string{nonField}
		return b, errs, nil
	}
	if _, ok := fields.values["name"]; !ok {
		errs.add("name", "This field is required.")
	}
	for _, f := range fields.order {
		raw := fields.values[f]
		switch {
		case fields.count[f] > 1:
			errs.add(f, "This field was given more than once.")
			continue
		case string(raw) == "null" && knownField(f):
			errs.add(f, "This field may not be null.")
			continue
		}
		var msg string
		switch f {
		case "name":
			b.name, msg = decodeName(raw)
		case "scopes":
			b.scopes, msg = decodeScopes(raw)
		case "ttl_seconds":
			var n int64
			n, msg = decodeInt(raw, 1, maxSeconds)
			b.ttl = time.Duration(n) * time.Second
		case "not_before":
			var s string
			if s, msg = decodeString(raw); msg == "" {
				if b.notBefore, err = time.Parse(time.RFC3339, s); err != nil {
					msg = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm:ssZ."
				}
			}
		case "allowed_ips":
			b.allowedIPs, msg = decodeRanges(raw)
		case "denied_ips":
			b.deniedIPs, msg = decodeRanges(raw)
		case "rate_limit":
			var nested fieldErrors
			b.rateLimit, b.rateWindow, msg, nested = decodeRate(raw)
			if nested != nil {
				errs[f] = nested
			}
		default:
			msg = "Unknown field."
		}
		if msg != "" {
			errs.add(f, msg)
		}
	}
	if len(errs) > 0 {
		return createBody{}, errs, nil
	}
	return b, nil, nil
}

func knownField(f string) bool {
	switch f {
	case "name", "scopes", "ttl_seconds", "not_before", "allowed_ips", "denied_ips", "rate_limit":
		return true
	}
	return false
}

// object is a JSON object's members in the order given, with how often
// each name came.
type object struct {
	order  []string
	values map[string]json.RawMessage
	count  map[string]int
}

// objectFields splits a JSON object into its members. A value other than
// an object gets DRF's non-field message; malformed JSON an *errParse.
func objectFields(data []byte) (object, string, error) {
	obj := object{values: map[string]json.RawMessage{}, count: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return obj, "", parseError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		// Check the rest is JSON, then name what came instead.
		if d, ok := tok.(json.Delim); ok {
			if err := skipRest(dec, d); err != nil {
				return obj, "", err
			}
		}
		if err := expectEOF(dec); err != nil {
			return obj, "", err
		}
		return obj, "Invalid data. Expected a dictionary, but got " + jsonKind(tok) + ".", nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return obj, "", parseError(err)
		}
		name := tok.(string) // inside an object, Token returns names as strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return obj, "", parseError(err)
		}
		if obj.count[name] == 0 {
			obj.order = append(obj.order, name)
		}
		obj.count[name]++
		obj.values[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return obj, "", parseError(err)
	}
	return obj, "", expectEOF(dec)
}

// skipRest consumes the rest of the array that opened.
func skipRest(dec *json.Decoder, _ json.Delim) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return parseError(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &errParse{"extra data after the JSON value"}
	}
	return nil
}

// parseError words a decoder error without quoting the body.
func parseError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &errParse{"unexpected end of the body"}
	case errors.As(err, &syn):
		return &errParse{fmt.Sprintf("invalid JSON at byte %d", syn.Offset)}
	default:
		return &errParse{"invalid JSON"}
	}
}

// jsonKind names a JSON value as Python would: DRF says "got list".
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "list"
		}
		return "dict"
	case string:
		return "str"
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return "float"
		}
		return "int"
	case bool:
		return "bool"
	default:
		return "NoneType"
	}
}

func decodeString(raw json.RawMessage) (string, string) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", "Not a valid string."
	}
	return s, ""
}

// printable reports whether s holds no control or invisible format
// characters: a name is shown to users, and stores keep it as text.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}) < 0
}

func decodeName(raw json.RawMessage) (string, string) {
	s, msg := decodeString(raw)
	if msg != "" {
		return "", msg
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "This field may not be blank."
	case utf8.RuneCountInString(s) > maxNameLen:
		return "", fmt.Sprintf("Ensure this field has no more than %d characters.", maxNameLen)
	case !printable(s):
		return "", "Control characters are not allowed."
	}
	return s, ""
}

// decodeList decodes a JSON array of at most max items with item, and
// names the first bad item by its position.
func decodeList[T any](raw json.RawMessage, max int, item func(json.RawMessage) (T, string)) ([]T, string) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, "Expected a list of items."
	}
	if len(items) > max {
		return nil, fmt.Sprintf("Ensure this field has no more than %d elements.", max)
	}
	out := make([]T, 0, len(items))
	for i, r := range items {
		v, msg := item(r)
		if msg != "" {
			return nil, fmt.Sprintf("Item %d: %s", i, msg)
		}
		out = append(out, v)
	}
	return out, ""
}

func decodeScopes(raw json.RawMessage) ([]string, string) {
	scopes, msg := decodeList(raw, maxScopes, func(r json.RawMessage) (string, string) {
		s, msg := decodeString(r)
		switch {
		case msg != "":
			return "", msg
		case s == "" || len(s) > maxScopeLen:
			return "", fmt.Sprintf("A scope has 1 to %d bytes.", maxScopeLen)
		case strings.ContainsFunc(s, unicode.IsSpace) || !printable(s):
			return "", "A scope has no spaces or control characters."
		}
		return s, ""
	})
	return scopes, msg
}

func decodeRanges(raw json.RawMessage) ([]netip.Prefix, string) {
	return decodeList(raw, maxRanges, func(r json.RawMessage) (netip.Prefix, string) {
		s, msg := decodeString(r)
		if msg != "" {
			return netip.Prefix{}, msg
		}
		return parseRange(s)
	})
}

// parseRange takes a CIDR range or a single address, IPv4 or IPv6.
func parseRange(s string) (netip.Prefix, string) {
	const bad = "Enter a valid CIDR range, such as 192.0.2.0/24 or 2001:db8::/32, or an address."
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad
		}
		return p.Masked(), ""
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, bad
	}
	return netip.PrefixFrom(ip, ip.BitLen()), ""
}

// decodeInt takes a JSON integer (1.0 and 1e3 too, as DRF does) in
// [lo, hi].
func decodeInt(raw json.RawMessage, lo, hi int64) (int64, string) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) == 0 || raw[0] == '"' || dec.Decode(&n) != nil {
		return 0, "A valid integer is required."
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) {
		return 0, "A valid integer is required."
	}
	switch {
	case f < float64(lo):
		return 0, fmt.Sprintf("Ensure this value is greater than or equal to %d.", lo)
	case f > float64(hi):
		return 0, fmt.Sprintf("Ensure this value is less than or equal to %d.", hi)
	}
	return int64(f), ""
}

// decodeRate takes {"limit": N, "window_seconds": S}. Errors of its own
// fields come back nested, as DRF nests a serializer's.
func decodeRate(raw json.RawMessage) (limit int, window time.Duration, msg string, nested fieldErrors) {
	if len(raw) == 0 || raw[0] != '{' {
		return 0, 0, "Invalid data. Expected a dictionary.", nil
	}
	obj, _, err := objectFields(raw)
	if err != nil {
		return 0, 0, "Invalid data. Expected a dictionary.", nil
	}
	nested = fieldErrors{}
	for _, f := range []string{"limit", "window_seconds"} {
		if _, ok := obj.values[f]; !ok {
			nested.add(f, "This field is required.")
		}
	}
	for _, f := range obj.order {
		raw := obj.values[f]
		var n int64
		var m string
		switch {
		case obj.count[f] > 1:
			m = "This field was given more than once."
		case f == "limit":
			n, m = decodeInt(raw, 1, maxRateLimit)
			limit = int(n)
		case f == "window_seconds":
			n, m = decodeInt(raw, 1, maxSeconds)
			window = time.Duration(n) * time.Second
		default:
			m = "Unknown field."
		}
		if m != "" {
			nested.add(f, m)
		}
	}
	if len(nested) > 0 {
		return 0, 0, "", nested
	}
	return limit, window, "", nil
}
