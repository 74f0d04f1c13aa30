package introspection_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endpointCase is one request to an endpoint and what must come of it.
type endpointCase struct {
	name string
	// req returns the request's Authorization header and form, issuing
	// what it needs through f; send, when set, replaces the POST.
	req  func(t *testing.T, f *fixture) (authz string, form url.Values)
	send func(t *testing.T, f *fixture, h http.Handler) *httptest.ResponseRecorder
	// status and body are the answer; body is compared as JSON, or must
	// be empty when "-".
	status int
	body   string
	// check, when set, checks more, given the form sent.
	check func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values)
}

func runEndpointCases(t *testing.T, handler func(*introspection.Server) http.Handler, cases []endpointCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tokenauth.Options{})
			h := handler(f.srv)
			var w *httptest.ResponseRecorder
			var form url.Values
			if tc.send != nil {
				w = tc.send(t, f, h)
			} else {
				var authz string
				authz, form = tc.req(t, f)
				w = post(h, authz, form)
			}
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			switch tc.body {
			case "":
			case "-":
				assert.Empty(t, w.Body.String())
			default:
				assert.JSONEq(t, tc.body, w.Body.String())
			}
			// RFC 7662 §4, RFC 6749 §5.1: no answer about a token may be
			// cached, and none sniffed.
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "no-cache", w.Header().Get("Pragma"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			if tc.check != nil {
				tc.check(t, f, w, form)
			}
		})
	}
}

// hints are token_type_hint values, known (RFC 7009 §2.1) and not: both
// endpoints ignore them, as tokenauth has one kind of token.
var hints = []string{"access_token", "refresh_token", "no_such_type"}

// The cases every endpoint shares: how a request must look (RFC 7662
// §2.1, RFC 7009 §2.1) and who may send it.
func requestCases() []endpointCase {
	gateway := basic(clientID, clientSecret)
	return []endpointCase{
		{
			name: "§2.1 token missing",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				return gateway, url.Values{"token_type_hint": {"access_token"}}
			},
			status: 400, body: `{"error":"invalid_request","error_description":"The token parameter is missing."}`,
		},
		{
			name: "§2.1 token empty",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				return gateway, url.Values{"token": {""}}
			},
			status: 400, body: `{"error":"invalid_request","error_description":"The token parameter is missing."}`,
		},
		{
			name: "RFC 6749 §3.2 token repeated",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return gateway, url.Values{"token": {key, key}}
			},
			status: 400, body: `{"error":"invalid_request","error_description":"A parameter is repeated."}`,
		},
		{
			name: "§2.1 token in the URL is not read",
			send: func(t *testing.T, f *fixture, h http.Handler) *httptest.ResponseRecorder {
				key, _ := f.issue(t, "42", 0)
				r := httptest.NewRequest(http.MethodPost, "/oauth?token="+key, strings.NewReader(""))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", gateway)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
			status: 400, body: `{"error":"invalid_request","error_description":"The token parameter is missing."}`,
		},
		{
			name: "§2.1 GET is refused",
			send: func(t *testing.T, f *fixture, h http.Handler) *httptest.ResponseRecorder {
				key, _ := f.issue(t, "42", 0)
				r := httptest.NewRequest(http.MethodGet, "/oauth?token="+key, nil)
				r.Header.Set("Authorization", gateway)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
			status: 405, body: `{"error":"invalid_request","error_description":"The request must use POST."}`,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, _ url.Values) {
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			},
		},
		{
			name: "§2.1 a JSON body is refused",
			send: func(t *testing.T, f *fixture, h http.Handler) *httptest.ResponseRecorder {
				key, _ := f.issue(t, "42", 0)
				r := httptest.NewRequest(http.MethodPost, "/oauth", strings.NewReader(`{"token":"`+key+`"}`))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", gateway)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
			status: 400, body: `{"error":"invalid_request","error_description":"The body must be application/x-www-form-urlencoded."}`,
		},
		{
			name: "a body over 8 KiB is refused",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return gateway, tokenForm(key, "padding", strings.Repeat("x", 9<<10))
			},
			status: 413, body: `{"error":"invalid_request","error_description":"The body is too large."}`,
		},
		{
			name: "§2.3 no caller credentials",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return "", tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				// RFC 6749 §5.2: a challenge per scheme the caller may use.
				assert.Equal(t, []string{`Basic realm="tokenauth"`, `Token realm="tokenauth"`}, w.Header().Values("WWW-Authenticate"))
				assert.True(t, f.live(t, form.Get("token")))
			},
		},
		{
			name: "§2.3 wrong client secret",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return basic(clientID, "guess"), tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				assert.Contains(t, w.Header().Values("WWW-Authenticate"), `Basic realm="tokenauth"`)
				assert.True(t, f.live(t, form.Get("token")))
			},
		},
		{
			name: "§2.3 unknown client",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return basic("stranger", clientSecret), tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			name: "§2.3 client secret not form-encoded",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				r := &http.Request{Header: http.Header{}}
				r.SetBasicAuth(clientID, clientSecret) // "%" must start an escape
				return r.Header.Get("Authorization"), tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			name: "§2.3 caller's token is unknown",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "introspect")
				key, _ := f.issue(t, "42", 0)
				_, err := f.auth.RevokeAll(context.Background(), "gw")
				require.NoError(t, err)
				return "Token " + caller, tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			name: "§2.3 caller's token is malformed",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return "Token two words", tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			// RFC 7662: never active:false; RFC 7009 §2.2.1: never 200.
			name: "store outage while looking the token up",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				f.store.SetErr(errors.New("database down"))
				return gateway, tokenForm(key)
			},
			status: 503, body: `{"error":"temporarily_unavailable","error_description":"The token store is unavailable; try again later."}`,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				assert.Equal(t, "5", w.Header().Get("Retry-After"))
				assert.True(t, f.live(t, form.Get("token")), "the token lives")
			},
		},
		{
			name: "store outage while checking the caller",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "introspect")
				key, _ := f.issue(t, "42", 0)
				f.store.SetErr(errors.New("database down"))
				return "Token " + caller, tokenForm(key)
			},
			status: 503, body: `{"error":"temporarily_unavailable","error_description":"The token store is unavailable; try again later."}`,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				assert.Equal(t, "5", w.Header().Get("Retry-After"))
			},
		},
	}
}

func TestIntrospectionRFC7662(t *testing.T) {
	gateway := basic(clientID, clientSecret)
	iat := tokenauthtest.NewClock().Now().Unix()
	// wantActive checks the answer for a token of user 42 with the scopes
	// read and write, and the members in extra.
	wantActive := func(extra string) func(*testing.T, *fixture, *httptest.ResponseRecorder, url.Values) {
		return func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
			p, err := f.auth.Verify(context.Background(), form.Get("token"))
			require.NoError(t, err)
			assert.JSONEq(t, fmt.Sprintf(`{"active":true,"scope":"read write","token_type":"Token","sub":"42","username":"alice","iat":%d,"jti":%q%s}`, iat, p.Token.ID, extra), w.Body.String())
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		}
	}
	cases := append(requestCases(), []endpointCase{
		{
			name: "§2.2 active token, Basic caller",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0, "read", "write")
				return gateway, tokenForm(key)
			},
			status: 200,
			check:  wantActive(""), // no exp: the token never expires

		},
		{
			name: "§2.2 exp of an expiring token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", time.Hour, "read", "write")
				return gateway, tokenForm(key)
			},
			status: 200,
			check:  wantActive(fmt.Sprintf(`,"exp":%d`, iat+3600)),
		},
		{
			name: "§2.1 caller's token carries the scope",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "introspect")
				key, _ := f.issue(t, "42", 0, "read", "write")
				return "Token " + caller, tokenForm(key)
			},
			status: 200,
			check:  wantActive(""),
		},
		{
			name: "§2.2 no username where the host has none",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "7", 0)
				return gateway, tokenForm(key)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				assert.NotContains(t, w.Body.String(), "username")
				assert.NotContains(t, w.Body.String(), "scope", "no scopes, no member")
			},
		},
		{
			name: "§2.2 unknown token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				other, _ := tokenauthtest.New(t, tokenauth.Options{})
				return gateway, tokenForm(tokenauthtest.Issue(t, other, "42"))
			},
			status: 200, body: `{"active":false}`,
		},
		{
			name: "§2.2 malformed token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				return gateway, tokenForm("tka_not-a-token")
			},
			status: 200, body: `{"active":false}`,
		},
		{
			name: "§2.2 expired token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", time.Minute, "read")
				f.clock.Advance(time.Minute)
				return gateway, tokenForm(key)
			},
			status: 200, body: `{"active":false}`,
		},
		{
			name: "§2.2 revoked token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, tok := f.issue(t, "42", 0, "read")
				require.NoError(t, f.auth.Revoke(context.Background(), tok.ID))
				return gateway, tokenForm(key)
			},
			status: 200, body: `{"active":false}`,
		},
		{
			name: "§2.2 answers exactly active:false",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				return gateway, tokenForm("x")
			},
			status: 200,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, _ url.Values) {
				assert.Equal(t, `{"active":false}`, w.Body.String())
			},
		},
		{
			name: "§2.3 caller's token lacks the scope",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "read")
				key, _ := f.issue(t, "42", 0)
				return "Token " + caller, tokenForm(key)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			name: "the caller's own token is refused",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "introspect")
				return "Token " + caller, tokenForm(caller)
			},
			status: 401, body: `{"error":"invalid_client"}`,
		},
		{
			name: "username lookup fails",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				f.usersErr = errors.New("user database down")
				return gateway, tokenForm(key)
			},
			status: 503,
			check: func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
				assert.Equal(t, "5", w.Header().Get("Retry-After"))
			},
		},
	}...)
	for _, hint := range hints {
		cases = append(cases, endpointCase{
			name: "§2.1 token_type_hint " + hint + " is ignored",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0, "read", "write")
				return gateway, tokenForm(key, "token_type_hint", hint)
			},
			status: 200,
			check:  wantActive(""),
		})
	}
	runEndpointCases(t, (*introspection.Server).IntrospectionHandler, cases)
}

// A user that the Authenticator's UserLoader refuses has no active
// tokens; a failing loader is an outage.
func TestIntrospectionUserLoader(t *testing.T) {
	loaderErr := error(nil)
	f := newFixture(t, tokenauth.Options{UserLoader: func(_ context.Context, id string) (any, error) {
		if loaderErr != nil {
			return nil, loaderErr
		}
		if id == "banned" {
			return nil, tokenauth.ErrUserInactive
		}
		return id, nil
	}})
	h := f.srv.IntrospectionHandler()
	gateway := basic(clientID, clientSecret)
	banned, _ := f.issue(t, "banned", 0)
	w := post(h, gateway, tokenForm(banned))
	assert.Equal(t, `{"active":false}`, w.Body.String())

	key, _ := f.issue(t, "42", 0)
	loaderErr = errors.New("user database down")
	w = post(h, gateway, tokenForm(key))
	assert.Equal(t, 503, w.Code)
	loaderErr = nil

	// An authenticated caller revokes the banned user's token, which is
	// inactive to introspection but stored: unbanning the user does not
	// bring it back.
	w = post(f.srv.RevocationHandler(), gateway, tokenForm(banned))
	assert.Equal(t, 200, w.Code)
	l, err := f.auth.List(context.Background(), "banned")
	require.NoError(t, err)
	assert.Empty(t, l, "the refused user's token is deleted")
}

// Scopes that RFC 6749 §3.3 does not allow are left out of "scope", so
// that "read admin", one scope, never reads as two.
func TestIntrospectionScopeTokens(t *testing.T) {
	f := newFixture(t, tokenauth.Options{})
	key, _ := f.issue(t, "42", 0, "read admin", "write", `say"hi"`, "")
	w := post(f.srv.IntrospectionHandler(), basic(clientID, clientSecret), tokenForm(key))
	var got struct{ Scope string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, "write", got.Scope)
}

// Without Options.Clients, Basic is no way in, and the challenge offers
// only tokens.
func TestIntrospectionWithoutClients(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Keywords: []string{"Bearer"}})
	srv, err := introspection.New(auth, introspection.Options{Keyword: "Bearer", Realm: `api "v2"`, Scope: "inspect"})
	require.NoError(t, err)
	key := tokenauthtest.Issue(t, auth, "42")
	h := srv.IntrospectionHandler()

	w := post(h, basic(clientID, clientSecret), tokenForm(key))
	assert.Equal(t, 401, w.Code)
	assert.Equal(t, []string{`Bearer realm="api \"v2\""`}, w.Header().Values("WWW-Authenticate"))

	w = post(h, "Bearer "+tokenauthtest.Issue(t, auth, "gw", "inspect"), tokenForm(key))
	assert.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), `"token_type":"Bearer"`)
}

// A failing client check is an outage, not a refusal.
func TestIntrospectionClientsFail(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	srv, err := introspection.New(auth, introspection.Options{
		Clients: func(context.Context, string, string) (bool, error) { return false, errors.New("vault sealed") },
		Logger:  quiet,
	})
	require.NoError(t, err)
	w := post(srv.IntrospectionHandler(), basic(clientID, clientSecret), tokenForm(tokenauthtest.Issue(t, auth, "42")))
	assert.Equal(t, 503, w.Code)
	assert.Equal(t, "5", w.Header().Get("Retry-After"))
}

func TestNewOptions(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	for name, opts := range map[string]introspection.Options{
		"scope with a space":  {Scope: "intro spect"},
		"keyword with colon":  {Keyword: "To:ken"},
		"negative RetryAfter": {RetryAfter: -time.Second},
	} {
		_, err := introspection.New(auth, opts)
		assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions, name)
	}
	_, err := introspection.New(nil, introspection.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}

func TestStaticClients(t *testing.T) {
	check := introspection.StaticClients(map[string]string{"a": "secret-a", "b": "secret-b", "empty": ""})
	for _, tc := range []struct {
		id, secret string
		want       bool
	}{
		{"a", "secret-a", true},
		{"b", "secret-b", true},
		{"a", "secret-b", false},
		{"a", "secret-a ", false},
		{"a", "", false},
		{"c", "secret-a", false},
		{"empty", "", false},
		{"", "", false},
	} {
		ok, err := check(context.Background(), tc.id, tc.secret)
		require.NoError(t, err)
		assert.Equal(t, tc.want, ok, "%q:%q", tc.id, tc.secret)
	}
}

// A holder revokes their own token even when it carries address lists,
// which Verify (without the request's address) cannot see as active.
func TestRevocationHolderWithAddressList(t *testing.T) {
	f := newFixture(t, tokenauth.Options{})
	key, _, err := f.auth.Issue(context.Background(), "42", tokenauth.IssueOptions{
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, // httptest's RemoteAddr
	})
	require.NoError(t, err)
	w := post(f.srv.RevocationHandler(), "Token "+key, tokenForm(key))
	assert.Equal(t, http.StatusOK, w.Code)
	l, err := f.auth.List(context.Background(), "42")
	require.NoError(t, err)
	assert.Empty(t, l, "the holder's own token is revoked")
}
