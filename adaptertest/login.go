package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func newSuiteLogin(t *testing.T, a *tokenauth.Authenticator) http.Handler {
	t.Helper()
	checker := login.CredentialCheckerFunc(func(ctx context.Context, username, password string) (login.Grant, error) {
		u, ok := suiteUsers[username]
		if !ok || !u.active || password != "password" {
			return login.Grant{}, login.ErrBadCredentials
		}
		return login.Grant{UserID: u.id}, nil
	})
	h, err := login.New(a, checker, login.Options{Limiter: login.NoLimit})
	if err != nil {
		t.Fatalf("login.New: %v", err)
	}
	return h
}

// loginCases is DRF's login table. Fields maps each form field to its
// value; a nil pointer sends JSON null (JSON only).
var loginCases = []struct {
	name   string
	fields map[string]*string
	want   want
}{
	{"valid", fields("username", "alice", "password", "password"), want{status: 200}},
	{"username trimmed", fields("username", "  alice ", "password", "password"), want{status: 200}},
	{"password only missing", fields("username", "john"), want{400, `{"password":["This field is required."]}`, "", ""}},
	{"both missing", fields(), want{400, `{"username":["This field is required."],"password":["This field is required."]}`, "", ""}},
	{"blank username", fields("username", "", "password", "x"), want{400, `{"username":["This field may not be blank."]}`, "", ""}},
	{"all-space username", fields("username", "   ", "password", "x"), want{400, `{"username":["This field may not be blank."]}`, "", ""}},
	{"wrong password", fields("username", "alice", "password", "wrong"), want{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, "", ""}},
	{"password not trimmed", fields("username", "alice", "password", " password"), want{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, "", ""}},
	{"unknown user", fields("username", "mallory", "password", "password"), want{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, "", ""}},
	{"inactive user", fields("username", "bob", "password", "password"), want{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, "", ""}},
}

func fields(kv ...string) map[string]*string {
	m := map[string]*string{}
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		m[kv[i]] = &v
	}
	return m
}

func encodeJSON(f map[string]*string) (string, io.Reader) {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range []string{"username", "password"} {
		v, ok := f[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + k + `":`)
		if v == nil {
			b.WriteString("null")
		} else {
			b.WriteString(`"` + strings.ReplaceAll(*v, `"`, `\"`) + `"`)
		}
	}
	b.WriteByte('}')
	return "application/json", strings.NewReader(b.String())
}

func encodeForm(f map[string]*string) (string, io.Reader) {
	v := url.Values{}
	for k, s := range f {
		v.Set(k, *s)
	}
	return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
}

func encodeMultipart(f map[string]*string) (string, io.Reader) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, s := range f {
		_ = w.WriteField(k, *s)
	}
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

var encodings = []struct {
	name   string
	encode func(map[string]*string) (string, io.Reader)
}{
	{"json", encodeJSON},
	{"form", encodeForm},
	{"multipart", encodeMultipart},
}

func runLoginTests(t *testing.T, newServer func(t *testing.T, env *Env) http.Handler) {
	for _, enc := range encodings {
		for _, tc := range loginCases {
			t.Run("login/"+enc.name+"/"+tc.name, func(t *testing.T) {
				env := newHTTPEnv(t, nil)
				h := newServer(t, env)
				ct, body := enc.encode(tc.fields)
				rec := do(h, http.MethodPost, "/api-token-auth/", "", ct, body)
				expectResponse(t, rec, tc.want)
				if tc.want.status == 200 {
					checkLoginToken(t, h, rec)
				}
			})
		}
	}
	other := []struct {
		name            string
		method, ct, raw string
		want            want
	}{
		{"null password", "POST", "application/json", `{"username":"alice","password":null}`, want{400, `{"password":["This field may not be null."]}`, "", ""}},
		{"GET", "GET", "", "", want{405, `{"detail":"Method \"GET\" not allowed."}`, "", "POST"}},
		{"text/plain", "POST", "text/plain", "username=alice", want{415, `{"detail":"Unsupported media type \"text/plain\" in request."}`, "", ""}},
		{"malformed JSON", "POST", "application/json", `{"username":`, want{status: 400}},
	}
	for _, tc := range other {
		t.Run("login/"+tc.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			h := newServer(t, env)
			rec := do(h, tc.method, "/api-token-auth/", "", tc.ct, strings.NewReader(tc.raw))
			expectResponse(t, rec, tc.want)
			if tc.name == "malformed JSON" && !strings.Contains(rec.Body.String(), "JSON parse error - ") {
				t.Errorf("body = %s, want a JSON parse error detail", rec.Body)
			}
		})
	}
}

// checkLoginToken checks a successful login body and that its token works.
func checkLoginToken(t *testing.T, h http.Handler, rec *httptest.ResponseRecorder) {
	t.Helper()
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login response Cache-Control = %q, want no-store", cc)
	}
	body := rec.Body.Bytes()
	var got struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &got); err != nil || got.Token == "" {
		t.Fatalf("login body %s: no token (%v)", body, err)
	}
	expectResponse(t, get(h, "/api/protected/", got.Token), okAlice)
}
