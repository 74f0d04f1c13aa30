// Package form decodes a login body as Django REST Framework's parsers and
// its CharField do, so that a client written against DRF gets the answers
// it expects: the same fields in JSON, urlencoded and multipart bodies, 415
// for other media types, and DRF's 400 messages. It keeps to what a client
// can observe; Python's exact wording of parse errors is not copied, and no
// error quotes the input, which holds a password.
package form

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind says what a field held.
type Kind uint8

const (
	Missing   Kind = iota
	Null           // JSON null
	NotString      // a JSON boolean, array or object, or a multipart file
	String
)

// Value is one decoded field.
type Value struct {
	Kind Kind
	Text string // for String; always valid UTF-8
}

// Error is a body refused as a whole. It is answered with Status and
// {"detail": Detail}, or {"non_field_errors": [Detail]} when NonField.
type Error struct {
	Status   int
	Detail   string
	NonField bool
}

func (e *Error) Error() string { return e.Detail }

// ErrTooLarge is the answer to a body over the size limit.
var ErrTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Detail: "Request body too large."}

// Read reads the body of r, at most maxBytes, and decodes the named fields.
// w is needed to tell the server to close a connection whose client sends
// more than the limit.
func Read(w http.ResponseWriter, r *http.Request, maxBytes int64, names ...string) (map[string]Value, *Error) {
	body, e := readBody(w, r, maxBytes)
	if e != nil {
		return nil, e
	}
	return Decode(r.Header.Get("Content-Type"), body, maxBytes, names...)
}

func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > maxBytes {
		return nil, ErrTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, ErrTooLarge
	case err != nil:
		return nil, &Error{Status: http.StatusBadRequest, Detail: "Could not read the request body."}
	}
	return body, nil
}

// Decode decodes body, sent with the given Content-Type, and returns the
// named fields; a field the body lacks is Missing.
func Decode(contentType string, body []byte, maxBytes int64, names ...string) (map[string]Value, *Error) {
	vals := make(map[string]Value, len(names))
	if len(body) == 0 {
		// DRF parses an empty body as no data, whatever its media type.
		return vals, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt = ""
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") && !strings.EqualFold(cs, "us-ascii") {
		mt = "" // rather than decode a password in the wrong charset
	}
	var e *Error
	switch mt {
	case "application/json":
		e = decodeJSON(vals, body, names)
	case "application/x-www-form-urlencoded":
		decodeURL(vals, string(body), names)
	case "multipart/form-data":
		e = decodeMultipart(vals, body, params["boundary"], maxBytes, names)
	default:
		e = &Error{Status: http.StatusUnsupportedMediaType, Detail: `Unsupported media type "` + contentType + `" in request.`}
	}
	if e != nil {
		return nil, e
	}
	return vals, nil
}

func decodeJSON(vals map[string]Value, body []byte, names []string) *Error {
	// Refuse what Python's decoder refuses, rather than let encoding/json
	// turn a mis-encoded password into U+FFFD.
	if !utf8.Valid(body) {
		return parseError("invalid UTF-8")
	}
	var obj map[string]json.RawMessage
	err := json.Unmarshal(body, &obj)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &Error{Status: http.StatusBadRequest, NonField: true,
			Detail: "Invalid data. Expected a dictionary, but got " + pyType(body) + "."}
	case errors.As(err, &syntaxErr) && strings.HasPrefix(syntaxErr.Error(), "unexpected end"):
		return parseError("unexpected end of input")
	case errors.As(err, &syntaxErr):
		// encoding/json's message quotes the offending character, which
		// may belong to the password: give only where it is.
		return parseError("invalid syntax at byte " + strconv.FormatInt(syntaxErr.Offset, 10))
	case err != nil:
		return parseError("invalid JSON")
	case obj == nil:
		return &Error{Status: http.StatusBadRequest, NonField: true, Detail: "No data provided"}
	}
	for _, name := range names {
		raw, ok := obj[name]
		if !ok {
			continue
		}
		switch raw[0] {
		case 'n':
			vals[name] = Value{Kind: Null}
		case 't', 'f', '[', '{':
			vals[name] = Value{Kind: NotString}
		case '"':
			var s string
			_ = json.Unmarshal(raw, &s) // valid: the whole body was
			vals[name] = Value{Kind: String, Text: s}
		default:
			// DRF's CharField takes a number as its text.
			vals[name] = Value{Kind: String, Text: string(raw)}
		}
	}
	return nil
}

func parseError(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: "JSON parse error - " + reason}
}

// pyType names the Python type of a valid JSON document that is not an
// object, as DRF's message does.
func pyType(body []byte) string {
	body = bytes.TrimSpace(body)
	switch body[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	}
	if bytes.ContainsAny(body, ".eE") {
		return "float"
	}
	return "int"
}

// decodeURL decodes an application/x-www-form-urlencoded body leniently, as
// Django does: a malformed escape stays as written (curl -d sends a bare
// "%"), invalid UTF-8 becomes U+FFFD, and the last of repeated fields wins.
func decodeURL(vals map[string]Value, s string, names []string) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k = unescape(k); k != "" && contains(names, k) {
			vals[k] = Value{Kind: String, Text: unescape(v)}
		}
	}
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func contains(names []string, s string) bool {
	for _, n := range names {
		if n == s {
			return true
		}
	}
	return false
}

// decodeMultipart decodes a multipart/form-data body already in memory.
func decodeMultipart(vals map[string]Value, body []byte, boundary string, maxBytes int64, names []string) *Error {
	if boundary == "" {
		return &Error{Status: http.StatusBadRequest, Detail: "Multipart form parse error - Invalid boundary in multipart: None"}
	}
	// The body is at most maxBytes, so with that much memory no part goes
	// to a temporary file; RemoveAll is there regardless.
	f, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxBytes)
	switch {
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return ErrTooLarge
	case err != nil:
		// Go's messages quote the input: say only what went wrong.
		return &Error{Status: http.StatusBadRequest, Detail: "Multipart form parse error - malformed body"}
	}
	defer f.RemoveAll()
	for _, name := range names {
		if len(f.File[name]) > 0 {
			vals[name] = Value{Kind: NotString} // as in DRF, where files join the data
		} else if v := f.Value[name]; len(v) > 0 {
			vals[name] = Value{Kind: String, Text: strings.ToValidUTF8(v[len(v)-1], "\uFFFD")}
		}
	}
	return nil
}
