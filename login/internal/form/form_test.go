package form_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth/login/internal/form"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	jsonType = "application/json"
	urlType  = "application/x-www-form-urlencoded"
)

func str(s string) form.Value { return form.Value{Kind: form.String, Text: s} }

func decode(contentType, body string) (map[string]form.Value, *form.Error) {
	return form.Decode(contentType, []byte(body), 64<<10, "username", "password")
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, body string
		want       map[string]form.Value
	}{
		{"strings", `{"username": "john", "password": " p w "}`,
			map[string]form.Value{"username": str("john"), "password": str(" p w ")}},
		{"escapes", `{"username": "\u00e9lodie", "password": "a\"b\\c"}`,
			map[string]form.Value{"username": str("élodie"), "password": str(`a"b\c`)}},
		{"missing and other fields", `{"user": "john", "csrf": 1}`, map[string]form.Value{}},
		{"null", `{"username": null}`, map[string]form.Value{"username": {Kind: form.Null}}},
		{"numbers are their text", `{"username": 123, "password": -1.5e3}`,
			map[string]form.Value{"username": str("123"), "password": str("-1.5e3")}},
		{"not strings", `{"username": true, "password": [1]}`,
			map[string]form.Value{"username": {Kind: form.NotString}, "password": {Kind: form.NotString}}},
		{"objects are not strings", `{"username": {"a": "b"}, "password": false}`,
			map[string]form.Value{"username": {Kind: form.NotString}, "password": {Kind: form.NotString}}},
		{"the last duplicate wins", `{"username": "x", "username": "john"}`, map[string]form.Value{"username": str("john")}},
		{"keys are case-sensitive", `{"Username": "john"}`, map[string]form.Value{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(jsonType, c.body)
			require.Nil(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	const secret = "s3cret-Pa55"
	cases := []struct {
		name, contentType, body string
		want                    form.Error
	}{
		{"malformed JSON", jsonType, `{"username": "john", "password": ` + secret + `}`,
			form.Error{Status: 400, Detail: "JSON parse error - invalid syntax at byte 34"}},
		{"truncated JSON", jsonType, `{"password": "` + secret,
			form.Error{Status: 400, Detail: "JSON parse error - unexpected end of input"}},
		{"bad escape", jsonType, `{"password": "\` + secret + `"}`,
			form.Error{Status: 400, Detail: "JSON parse error - invalid syntax at byte 16"}},
		{"invalid UTF-8", jsonType, "{\"password\": \"caf\xe9\"}",
			form.Error{Status: 400, Detail: "JSON parse error - invalid UTF-8"}},
		{"a list", jsonType, `[]`, form.Error{Status: 400, NonField: true, Detail: "Invalid data. Expected a dictionary, but got list."}},
		{"a string", jsonType, `"john"`, form.Error{Status: 400, NonField: true, Detail: "Invalid data. Expected a dictionary, but got str."}},
		{"an int", jsonType, ` 42 `, form.Error{Status: 400, NonField: true, Detail: "Invalid data. Expected a dictionary, but got int."}},
		{"a float", jsonType, `4.2`, form.Error{Status: 400, NonField: true, Detail: "Invalid data. Expected a dictionary, but got float."}},
		{"a bool", jsonType, "\ttrue\n", form.Error{Status: 400, NonField: true, Detail: "Invalid data. Expected a dictionary, but got bool."}},
		{"null", jsonType, `null`, form.Error{Status: 400, NonField: true, Detail: "No data provided"}},
		{"text/plain", "text/plain", "username=john", form.Error{Status: 415, Detail: `Unsupported media type "text/plain" in request.`}},
		{"no content type", "", `{}`, form.Error{Status: 415, Detail: `Unsupported media type "" in request.`}},
		{"a JSON variant", "application/vnd.api+json", `{}`, form.Error{Status: 415, Detail: `Unsupported media type "application/vnd.api+json" in request.`}},
		{"latin-1", "application/json; charset=latin-1", `{}`, form.Error{Status: 415, Detail: `Unsupported media type "application/json; charset=latin-1" in request.`}},
		{"unparsable content type", "json", `{}`, form.Error{Status: 415, Detail: `Unsupported media type "json" in request.`}},
		{"multipart without boundary", "multipart/form-data", "password=" + secret,
			form.Error{Status: 400, Detail: "Multipart form parse error - Invalid boundary in multipart: None"}},
		{"malformed multipart", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + secret,
			form.Error{Status: 400, Detail: "Multipart form parse error - malformed body"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(c.contentType, c.body)
			require.NotNil(t, err)
			assert.Nil(t, got)
			assert.Equal(t, c.want, *err)
			assert.NotContains(t, err.Detail, secret)
		})
	}
}

func TestDecodeMediaTypes(t *testing.T) {
	for _, ct := range []string{
		"application/json; charset=utf-8",
		"Application/JSON; Charset=UTF-8",
		"application/json; charset=us-ascii",
		"application/json; =", // a malformed parameter is ignored
	} {
		t.Run(ct, func(t *testing.T) {
			got, err := decode(ct, `{"username": "john"}`)
			require.Nil(t, err)
			assert.Equal(t, map[string]form.Value{"username": str("john")}, got)
		})
	}
	t.Run("an empty body is no data, whatever its type", func(t *testing.T) {
		for _, ct := range []string{"", "text/plain", jsonType} {
			got, err := decode(ct, "")
			require.Nil(t, err)
			assert.Empty(t, got)
		}
	})
}

func TestDecodeURLIsLenient(t *testing.T) {
	cases := []struct {
		name, body         string
		username, password string
	}{
		{"plus is space", "username=a+b&password=c+d", "a b", "c d"},
		{"malformed escapes stay", "username=50%25%zz&password=100%", "50%%zz", "100%"},
		{"the last value wins", "username=x&username=john&password=1&password=2", "john", "2"},
		{"invalid UTF-8 replaced", "username=%FFjohn&password=%C3", "\uFFFDjohn", "\uFFFD"},
		{"empty pairs and other fields", "&&csrf=1&username=john&&password=pw&", "john", "pw"},
		{"escaped names", "user%6Eame=john&pass%77ord=pw", "john", "pw"},
		{"a name alone is empty", "username&password=x", "", "x"},
		{"semicolons are not separators", "username=a;b&password=x", "a;b", "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(urlType, c.body)
			require.Nil(t, err)
			assert.Equal(t, map[string]form.Value{"username": str(c.username), "password": str(c.password)}, got)
		})
	}
}

func TestDecodeMultipart(t *testing.T) {
	t.Run("fields, and files that are not strings", func(t *testing.T) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		require.NoError(t, mw.WriteField("username", "x"))
		require.NoError(t, mw.WriteField("username", "john"))
		fw, err := mw.CreateFormFile("password", "password.txt")
		require.NoError(t, err)
		_, _ = fw.Write([]byte("pw"))
		require.NoError(t, mw.Close())
		got, ferr := decode(mw.FormDataContentType(), b.String())
		require.Nil(t, ferr)
		assert.Equal(t, map[string]form.Value{"username": str("john"), "password": {Kind: form.NotString}}, got)
	})

	t.Run("large file parts leave no temporary files", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("TMPDIR", dir)
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		require.NoError(t, mw.WriteField("username", "john"))
		fw, err := mw.CreateFormFile("avatar", "avatar.png")
		require.NoError(t, err)
		_, _ = fw.Write(bytes.Repeat([]byte{0x89}, 63<<10))
		require.NoError(t, mw.Close())
		got, ferr := decode(mw.FormDataContentType(), b.String())
		require.Nil(t, ferr)
		assert.Equal(t, str("john"), got["username"])
		left, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, left)
	})
}

func TestRead(t *testing.T) {
	const limit = 64
	cases := []struct {
		name    string
		body    string
		chunked bool
		tooBig  bool
	}{
		{"at the limit", `{"username": "` + strings.Repeat("a", limit-16) + `"}`, false, false},
		{"over the limit", `{"username": "` + strings.Repeat("a", limit-15) + `"}`, false, true},
		{"chunked, at the limit", `{"username": "` + strings.Repeat("a", limit-16) + `"}`, true, false},
		{"chunked, over the limit", `{"username": "` + strings.Repeat("a", limit-15) + `"}`, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
			r.Header.Set("Content-Type", jsonType)
			if c.chunked {
				r.ContentLength = -1
			}
			got, err := form.Read(httptest.NewRecorder(), r, limit, "username")
			if c.tooBig {
				assert.Equal(t, form.ErrTooLarge, err)
				return
			}
			require.Nil(t, err)
			assert.Equal(t, strings.Repeat("a", limit-16), got["username"].Text)
		})
	}
}

func TestChar(t *testing.T) {
	cases := []struct {
		name          string
		v             form.Value
		trim          bool
		text, problem string
	}{
		{"missing", form.Value{}, true, "", "This field is required."},
		{"null", form.Value{Kind: form.Null}, true, "", "This field may not be null."},
		{"not a string", form.Value{Kind: form.NotString}, true, "", "Not a valid string."},
		{"blank", str(""), false, "", "This field may not be blank."},
		{"all white space, trimmed", str(" \t\u3000\u00a0\x1f "), true, "", "This field may not be blank."},
		{"white space kept", str(" pw "), false, " pw ", ""},
		{"trimmed", str("\u2003 jane\t\x1c"), true, "jane", ""},
		{"NUL", str("a\x00b"), false, "", "Null characters are not allowed."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, problem := c.v.Char(c.trim)
			assert.Equal(t, c.text, text)
			assert.Equal(t, c.problem, problem)
		})
	}
}
