package tokenauth_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzContentTypes are the media types FuzzLoginBody sends its bodies as,
// chosen by the first argument.
var fuzzContentTypes = []string{
	"application/json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=" + loginBoundary,
	"",
}

// detailPattern matches every {"detail": ...} a login body can produce:
// fixed messages, or a parser's reason that quotes none of the input.
var detailPattern = regexp.MustCompile(`^(Request body too large\.|Unsupported media type "[^"]*" in request\.|` +
	`Multipart form parse error - (malformed multipart body|Invalid boundary in multipart: None)|` +
	`JSON parse error - (invalid character|unexpected end of JSON input|invalid UTF-8)[a-z :\\-]*( \(expecting '[a-z]'\))? \(line \d+, column \d+\))$`)

// FuzzLoginBody feeds arbitrary bodies in each encoding to the login
// handler. Whatever the input, the answer is one of the documented ones,
// never a 5xx; the checker only ever sees a trimmed, non-empty, NUL-free,
// valid UTF-8 username and password; and whatever the checker saw survives
// a round trip through every encoding unchanged.
func FuzzLoginBody(f *testing.F) {
	seed := func(enc int, fields []loginKV) {
		_, body := loginEncodings[enc].encode(f, fields)
		f.Add(uint8(enc), []byte(body))
	}
	for enc := range loginEncodings {
		seed(enc, credentials("john", loginPassword))
		seed(enc, credentials(" \u3000john\t", loginPassword))
		seed(enc, credentials("", " "))
		seed(enc, credentials("a\x00b", "p"))
		seed(enc, []loginKV{{"username", "john"}})
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `1.5e300`, `{"username": 1e400, "password": -0}`,
		`{"username": true, "password": {"a": [1]}}`, `{"username": "\ud800", "password": "\u0000"}`,
		`{"username": "john", "password": }`, `{"username": "jo`, "\xef\xbb\xbf{}", `{"username":"a","username":null}`,
	} {
		f.Add(uint8(0), []byte(s))
	}
	for _, s := range []string{"username=%zz&password=100%", "username&password", "&&=&username=+a+&password=%C3%28", "password=%00"} {
		f.Add(uint8(1), []byte(s))
	}
	for _, s := range []string{
		"--" + loginBoundary + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohn",
		"--" + loginBoundary + "\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p\"\r\n\r\nx\r\n--" + loginBoundary + "--\r\n",
		"--" + loginBoundary + "--\r\n",
	} {
		f.Add(uint8(2), []byte(s))
	}
	f.Add(uint8(3), []byte(`{"username":"john","password":"x"}`))
	f.Add(uint8(3), []byte{})

	f.Fuzz(func(t *testing.T, enc uint8, body []byte) {
		fx := newLoginFixture(t, tokenauth.Options{Logger: discardLogger},
			tokenauth.LoginOptions{Limiter: tokenauth.NoLimit, MaxBodyBytes: 4096})
		w := doLogin(fx.login, http.MethodPost, fuzzContentTypes[int(enc)%len(fuzzContentTypes)], string(body))
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}, w.Code)
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

		var resp map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp), "the body is a JSON object: %q", w.Body.String())
		if detail, ok := resp["detail"].(string); ok {
			assert.Regexp(t, detailPattern, detail)
		}

		attempts := fx.checker.attempts()
		require.LessOrEqual(t, len(attempts), 1)
		if len(attempts) == 0 {
			assert.NotEqual(t, http.StatusOK, w.Code)
			assert.NotEqual(t, bodyBadCredentials, w.Body.String(), "refused without asking the checker")
			return
		}
		a := attempts[0]
		for _, s := range []string{a.username, a.password} {
			assert.NotEmpty(t, s)
			assert.True(t, utf8.ValidString(s))
			assert.NotContains(t, s, "\x00")
		}
		assert.Equal(t, a.username, strings.TrimFunc(a.username, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }))
		if a == (loginAttempt{"john", loginPassword}) {
			assert.Equal(t, http.StatusOK, w.Code)
		} else {
			assert.Equal(t, bodyBadCredentials, w.Body.String())
		}

		// The same credentials, in any encoding, reach the checker unchanged.
		for _, e := range loginEncodings {
			fx := newLoginFixture(t, tokenauth.Options{Logger: discardLogger}, tokenauth.LoginOptions{Limiter: tokenauth.NoLimit})
			ct, body := e.encode(t, credentials(a.username, a.password))
			doLogin(fx.login, http.MethodPost, ct, body)
			assert.Equal(t, attempts, fx.checker.attempts(), "re-encoded as %s", e.name)
		}
	})
}
