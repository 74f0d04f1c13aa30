package form_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth/login/internal/form"
)

const fuzzBoundary = "fuzz-boundary"

var fuzzTypes = []string{
	jsonType,
	urlType,
	"multipart/form-data; boundary=" + fuzzBoundary,
	"",
}

// corpus seeds FuzzDecode with a content type (an index into fuzzTypes)
// and a body.
var corpus = []struct {
	ct   uint8
	body string
}{
	{0, `{"username": "john", "password": "s3cret"}`},
	{0, `{"username": " \u3000john\t", "password": "a\u0000b"}`},
	{0, `{}`}, {0, `[]`}, {0, `null`}, {0, `"x"`}, {0, `1.5e300`},
	{0, `{"username": 1e400, "password": -0}`},
	{0, `{"username": true, "password": {"a": [1]}}`},
	{0, `{"username": "\ud800", "password": "\u0000"}`},
	{0, `{"username": "john", "password": }`},
	{0, `{"username": "jo`},
	{0, "\xef\xbb\xbf{}"},
	{0, `{"username":"a","username":null}`},
	{0, "{\"password\": \"caf\xe9\"}"},
	{1, "username=john&password=s3cret"},
	{1, "username=%zz&password=100%"},
	{1, "username&password"},
	{1, "&&=&username=+a+&password=%C3%28"},
	{1, "password=%00"},
	{2, "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohn\r\n--" + fuzzBoundary + "--\r\n"},
	{2, "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p\"\r\n\r\nx\r\n--" + fuzzBoundary + "--\r\n"},
	{2, "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohn"},
	{2, "--" + fuzzBoundary + "--\r\n"},
	{3, `{"username":"john","password":"x"}`},
	{3, ""},
}

// details matches every message Decode may give. None quotes the body,
// which holds a password.
var details = regexp.MustCompile(`^(Request body too large\.|Unsupported media type "" in request\.|` +
	`Multipart form parse error - (malformed body|Invalid boundary in multipart: None)|` +
	`JSON parse error - (invalid UTF-8|unexpected end of input|invalid syntax at byte \d+)|` +
	`Invalid data\. Expected a dictionary, but got (list|str|int|float|bool)\.|No data provided)$`)

// FuzzDecode checks that Decode, whatever the body, gives a documented
// answer or fields whose text is valid UTF-8, and that the strings it
// decodes come back unchanged when sent again in any encoding.
func FuzzDecode(f *testing.F) {
	for _, c := range corpus {
		f.Add(c.ct, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		vals, ferr := form.Decode(fuzzTypes[int(ct)%len(fuzzTypes)], body, 4096, "username", "password")
		if ferr != nil {
			if vals != nil {
				t.Errorf("Decode returned fields and an error")
			}
			if ferr.Status != 400 && ferr.Status != 413 && ferr.Status != 415 {
				t.Errorf("status %d", ferr.Status)
			}
			if !details.MatchString(ferr.Detail) {
				t.Errorf("undocumented detail %q", ferr.Detail)
			}
			return
		}
		strs := map[string]string{}
		for name, v := range vals {
			if name != "username" && name != "password" {
				t.Errorf("field %q was not asked for", name)
			}
			if v.Kind == form.String {
				if !utf8.ValidString(v.Text) {
					t.Errorf("%s = %q: invalid UTF-8", name, v.Text)
				}
				strs[name] = v.Text
			}
		}
		for i, enc := range []func(map[string]string) (string, []byte){encodeJSON, encodeURL, encodeMultipart} {
			ct, body := enc(strs)
			again, ferr := form.Decode(ct, body, 1<<20, "username", "password")
			if ferr != nil {
				t.Fatalf("encoding %d: %v", i, ferr)
			}
			for name, s := range strs {
				if got := again[name]; got.Kind != form.String || got.Text != s {
					t.Errorf("encoding %d: %s = %+v, want %q", i, name, got, s)
				}
			}
		}
	})
}

func encodeJSON(m map[string]string) (string, []byte) {
	b, _ := json.Marshal(m)
	return jsonType, b
}

func encodeURL(m map[string]string) (string, []byte) {
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return urlType, []byte(v.Encode())
}

func encodeMultipart(m map[string]string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, s := range m {
		_ = mw.WriteField(k, s)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}
