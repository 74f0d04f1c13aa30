package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
)

// exchanged is one request of a flow and its answer, as the client saw it.
type exchanged struct {
	what   string
	status int
	header http.Header
	body   string
}

// flow sends requests to a server and keeps every answer.
type flow struct {
	t    *testing.T
	base string
	seen []exchanged
	// issued are the keys the server handed out, each with the index of
	// the answer that carried it (-1: the banner).
	issued map[string]int
}

var keyPattern = regexp.MustCompile(`tka_[0-9A-Za-z]{49}`)

// do sends a request with an optional key and body (JSON if it starts with
// '{', multipart if contentType says so, else a form) and returns the
// answer, collecting any key it carries.
func (f *flow) do(what, method, path, key, contentType, body string) exchanged {
	f.t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
	require.NoError(f.t, err)
	switch {
	case contentType != "":
		req.Header.Set("Content-Type", contentType)
	case strings.HasPrefix(body, "{"):
		req.Header.Set("Content-Type", "application/json")
	case body != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set("Authorization", "Token "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err, what)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(f.t, err, what)
	e := exchanged{what: what, status: resp.StatusCode, header: resp.Header, body: string(raw)}
	f.seen = append(f.seen, e)
	for _, k := range keyPattern.FindAllString(e.body, -1) {
		if _, ok := f.issued[k]; !ok {
			f.issued[k] = len(f.seen) - 1
		}
	}
	return e
}

// key returns the "token" of a JSON answer.
func (f *flow) key(e exchanged) string {
	f.t.Helper()
	var v struct{ Token string }
	require.NoError(f.t, json.Unmarshal([]byte(e.body), &v), "%s: %s", e.what, e.body)
	require.NotEmpty(f.t, v.Token, "%s: %s", e.what, e.body)
	return v.Token
}

func multipartBody(t *testing.T, fields ...string) (contentType, body string) {
	var b strings.Builder
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		require.NoError(t, w.WriteField(fields[i], fields[i+1]))
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), b.String()
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// Passwords the flows send, right or wrong, besides the demo users' (which
// is no secret), each distinctive enough not to occur in any answer or log
// by chance.
const (
	wrongPassword = "wrong-Secret-8k2"
	nulPassword   = "nul\x00Secret-5h1"
)

var passwords = []string{carolPassword, wrongPassword, nulPassword}

// walk runs a full flow: logins in every encoding, failed ones, good, bad,
// revoked and reused keys on every route, logout and logout everywhere.
// alice and bob are the demo users' keys.
func (f *flow) walk(alice, bob string) {
	t := f.t
	carolForm := form("username", "carol", "password", carolPassword)
	carol := f.key(f.do("login (form)", "POST", "/api-token-auth/", "", "", carolForm))
	login := f.key(f.do("login (form, again)", "POST", "/api-token-auth/", "", "", carolForm))
	f.key(f.do("login (JSON)", "POST", "/api-token-auth/", "", "", `{"username": "carol", "password": "`+carolPassword+`"}`))
	ct, body := multipartBody(t, "username", "carol", "password", carolPassword)
	f.key(f.do("login (multipart)", "POST", "/api-token-auth/", "", ct, body))
	f.do("login with a wrong password", "POST", "/api-token-auth/", "", "", form("username", "carol", "password", wrongPassword))
	f.do("login of an unknown user", "POST", "/api-token-auth/", "", "", form("username", "nobody", "password", wrongPassword))
	f.do("login of an inactive user", "POST", "/api-token-auth/", "", "", form("username", "bob", "password", demoPassword))
	f.do("login with a blank password", "POST", "/api-token-auth/", "", "", `{"username": "carol", "password": ""}`)
	f.do("login with a NUL", "POST", "/api-token-auth/", "", "", form("username", "carol", "password", nulPassword))
	f.do("login with bad JSON", "POST", "/api-token-auth/", "", "", `{"username": "carol", "password": "`+carolPassword+`"`)
	f.do("login with GET", "GET", "/api-token-auth/?username=carol&password="+wrongPassword, "", "", "")
	f.do("login with a key", "POST", "/api-token-auth/", login, "", carolForm)

	for _, k := range []string{alice, login, carol} {
		f.do("protected", "GET", "/api/protected/", k, "", "")
		f.do("public", "GET", "/api/public/", k, "", "")
		f.do("a key one character short", "GET", "/api/protected/", k[:len(k)-1], "", "")
		f.do("a key with a typo", "GET", "/api/protected/", k[:10]+"0"+k[11:], "", "")
		f.do("a key twice", "GET", "/api/protected/", k+" "+k, "", "")
	}
	f.do("an inactive user's key", "GET", "/api/protected/", bob, "", "")
	f.do("no key", "GET", "/api/protected/", "", "", "")

	f.do("logout", "POST", "/api/logout/", login, "", "")
	f.do("a logged-out key", "GET", "/api/protected/", login, "", "")
	f.do("logout again", "POST", "/api/logout/", login, "", "")
	f.do("logout everywhere", "POST", "/api/logoutall/", carol, "", "")
	f.do("a key revoked everywhere", "GET", "/api/public/", carol, "", "")
	f.do("logout everywhere again", "POST", "/api/logoutall/", carol, "", "")
}

// check asserts that no log line and no answer holds a secret: any key
// the server issued (but in the answer that issued it), its digest in any
// encoding, a password, or the HMAC key; and that every answer carrying a
// key says Cache-Control: no-store.
func (f *flow) check(logs string, hmacKey []byte) {
	t := f.t
	require.NotEmpty(t, f.issued)
	secrets := map[string]string{}
	for _, p := range passwords {
		secrets[p] = "a password"
	}
	if hmacKey != nil {
		secrets[hex.EncodeToString(hmacKey)] = "the HMAC key"
	}
	for k := range f.issued {
		secrets[k] = "a key"
		var d []byte
		if hmacKey != nil {
			m := hmac.New(sha256.New, hmacKey)
			m.Write([]byte(k))
			d = m.Sum(nil)
		} else {
			s := sha256.Sum256([]byte(k))
			d = s[:]
		}
		for _, enc := range []string{hex.EncodeToString(d), strings.ToUpper(hex.EncodeToString(d)), string(d),
			base64.StdEncoding.EncodeToString(d), base64.RawURLEncoding.EncodeToString(d)} {
			secrets[enc] = "a key's digest"
		}
	}
	for s, what := range secrets {
		assert.NotContains(t, logs, s, "the logs hold %s", what)
	}
	for i, e := range f.seen {
		for s, what := range secrets {
			if what == "a key" && f.issued[s] == i {
				continue
			}
			assert.NotContains(t, e.body, s, "%s: the answer (%d) holds %s", e.what, e.status, what)
		}
		if keyPattern.MatchString(e.body) {
			assert.Equal(t, "no-store", e.header.Get("Cache-Control"), "%s: an answer carrying a key", e.what)
		}
		if strings.HasPrefix(e.what, "login") {
			assert.Equal(t, "no-store", e.header.Get("Cache-Control"), "%s: every login answer", e.what)
		}
	}
}

// TestSecrecy walks a full flow, failures included, with SHA-256 and HMAC
// digests, and checks that neither the server's logs nor its answers ever
// show a key (but to whom it was issued), a digest or a password, and that
// answers carrying a key are marked Cache-Control: no-store.
func TestSecrecy(t *testing.T) {
	hmacKey := make([]byte, 32)
	_, err := rand.Read(hmacKey)
	require.NoError(t, err)
	tests := []struct {
		name string
		key  []byte
	}{
		{name: "sha256"},
		{name: "hmac", key: hmacKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, config{dsn: filepath.Join(t.TempDir(), "secrecy.db"), hmacKey: tt.key})
			f := &flow{t: t, base: s.URL, issued: map[string]int{}}
			f.issued[s.AliceToken], f.issued[s.BobToken] = -1, -1 // issued outside the flow
			f.walk(s.AliceToken, s.BobToken)
			f.check(s.Logs(), tt.key)
			for _, e := range f.seen {
				assert.Less(t, e.status, 500, "%s: %s", e.what, e.body)
			}
		})
	}
}

// TestSecrecyOutage runs the service on PostgreSQL through a proxy,
// cuts the database off in the middle of a flow and restores it: every
// answer meanwhile is a 503 with Retry-After, and neither the failures
// logged nor the answers hold a key, a digest, a password or the
// database's password.
func TestSecrecyOutage(t *testing.T) {
	dsn := os.Getenv("TOKENAUTH_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("the outage needs PostgreSQL: set TOKENAUTH_TEST_POSTGRES_DSN to a test database's URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err)

	// A schema of its own, so that the service's fixed table name meets no
	// other test's.
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := "secrecy_" + strings.ToLower(rand.Text()[:12])
	_, err = admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(t, err)
	})

	target := u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	proxy, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	// A database password that must never be shown; trust authentication,
	// as in CI, ignores it, and a server that checks it is not in use here.
	const dbPassword = "db-password-never-shown"
	if _, set := u.User.Password(); !set && u.User != nil {
		u.User = url.UserPassword(u.User.Username(), dbPassword)
	}
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	s := start(t, config{dsn: u.String()})
	f := &flow{t: t, base: s.URL, issued: map[string]int{}}
	f.issued[s.AliceToken], f.issued[s.BobToken] = -1, -1
	login := f.key(f.do("login", "POST", "/api-token-auth/", "", "", form("username", "alice", "password", demoPassword)))
	f.do("protected", "GET", "/api/protected/", login, "", "")

	proxy.Cut()
	outage := len(f.seen)
	f.do("login during the outage", "POST", "/api-token-auth/", "", "", form("username", "alice", "password", demoPassword))
	f.do("protected during the outage", "GET", "/api/protected/", login, "", "")
	f.do("public during the outage", "GET", "/api/public/", s.AliceToken, "", "")
	f.do("logout during the outage", "POST", "/api/logout/", login, "", "")
	f.do("logout everywhere during the outage", "POST", "/api/logoutall/", s.AliceToken, "", "")
	for _, e := range f.seen[outage:] {
		assert.Equal(t, http.StatusServiceUnavailable, e.status, "%s: %s", e.what, e.body)
		assert.NotEmpty(t, e.header.Get("Retry-After"), e.what)
	}
	proxy.Restore()

	f.walk(s.AliceToken, s.BobToken)
	logs := s.Logs()
	assert.Contains(t, logs, "store failure", "the outage was logged")
	assert.NotContains(t, logs, dbPassword)
	for _, e := range f.seen {
		assert.NotContains(t, e.body, dbPassword, e.what)
		assert.NotContains(t, e.body, schema, "%s: an answer names the database's schema", e.what)
	}
	f.check(logs, nil)
}
