package tokenauthtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// HTTPEnv is what RunHTTPTests gives the server under test: an
// Authenticator over a fake store whose users are
//
//	"1": alice, password "password", active
//	"2": bob, password "password", inactive (refused by the UserLoader)
//	"3": carol, password "password", active
//
// and a login handler (package login) over those users.
type HTTPEnv struct {
	// Auth authenticates with Options.Keywords {"Token"} and a UserLoader
	// that refuses bob.
	Auth *tokenauth.Authenticator
	// Store is the fake store; the suite switches outages on with SetErr.
	Store *Store
	// Login is the login handler (login.New) over the
	// suite's users, with throttling off.
	Login http.Handler
}

// SuiteUser is the user value the suite's UserLoader returns.
type SuiteUser struct {
	ID       string
	Username string
}

var suiteUsers = map[string]struct {
	id     string
	active bool
}{
	"alice": {"1", true},
	"bob":   {"2", false},
	"carol": {"3", true},
}

// newHTTPEnv builds the environment for one case.
func newHTTPEnv(t *testing.T) *HTTPEnv {
	t.Helper()
	s := NewStore()
	a, err := tokenauth.New(s, tokenauth.Options{
		UserLoader: func(ctx context.Context, userID string) (any, error) {
			for name, u := range suiteUsers {
				if u.id == userID {
					if !u.active {
						return nil, tokenauth.ErrUserInactive
					}
					return &SuiteUser{ID: u.id, Username: name}, nil
				}
			}
			return nil, tokenauth.ErrNotFound
		},
		Logger: discardLogger,
	})
	if err != nil {
		t.Fatalf("tokenauth.New: %v", err)
	}
	return &HTTPEnv{Auth: a, Store: s, Login: newSuiteLogin(t, a)}
}

// RunHTTPTests runs the shared table of HTTP behaviour (Django REST
// Framework's protected-endpoint and login tables, logout, scopes, expiry,
// store outage → 503) against the handler newServer builds for each case.
// Adapters for web frameworks run it to prove they answer exactly as the
// core's net/http middleware does.
//
// The handler must route:
//
//	POST /api-token-auth/   env.Login
//	POST /api/logout/       require, then a.LogoutHandler()
//	POST /api/logoutall/    require, then a.LogoutAllHandler()
//	GET  /api/protected/    require; 200 {"message":"ok","user":U,"ctx_user":C}
//	GET  /api/public/       optional; 200 {"message":"public","user":U or ""}
//	GET  /api/scoped/       require scope "write"; 200 {"message":"scoped"}
//	GET  /api/items/{id}/   require; 200 {"id":<path parameter>,"user":U}
//
// where U is the token's UserID read through the framework's own getter
// and C the same read with tokenauth.FromContext(r.Context()).
func RunHTTPTests(t *testing.T, newServer func(t *testing.T, env *HTTPEnv) http.Handler) {
	t.Helper()
	for _, tc := range protectedCases {
		t.Run("protected/"+tc.name, func(t *testing.T) {
			env := newHTTPEnv(t)
			h := newServer(t, env)
			alice := issue(t, env, "1")
			bob := issue(t, env, "2")
			header := strings.NewReplacer("ALICE", alice, "BOB", bob).Replace(tc.header)
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.header != "-" {
				req.Header.Set("Authorization", header)
			}
			expectResponse(t, serve(h, req), tc.want)
		})
	}
	for _, tc := range flowCases {
		t.Run("flow/"+tc.name, func(t *testing.T) {
			env := newHTTPEnv(t)
			tc.run(t, env, newServer(t, env))
		})
	}
	runLoginTests(t, newServer)
}

// want describes an expected response; empty fields are not checked.
type want struct {
	status    int
	body      string // exact JSON, compared semantically
	challenge string // WWW-Authenticate; "-" means absent
}

var protectedCases = []struct {
	name, path, header string // header "-" means no Authorization header
	want               want
}{
	{"no header", "/api/protected/", "-", want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"}},
	{"empty header", "/api/protected/", "", want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"}},
	{"other scheme", "/api/protected/", "Bearer ALICE", want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"}},
	{"basic auth", "/api/protected/", "Basic YWxpY2U6cGFzc3dvcmQ=", want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"}},
	{"keyword alone", "/api/protected/", "Token", want{401, `{"detail":"Invalid token header. No credentials provided."}`, "Token"}},
	{"keyword and spaces", "/api/protected/", "Token   ", want{401, `{"detail":"Invalid token header. No credentials provided."}`, "Token"}},
	{"key with spaces", "/api/protected/", "Token foo bar", want{401, `{"detail":"Invalid token header. Token string should not contain spaces."}`, "Token"}},
	{"key not UTF-8", "/api/protected/", "Token \xff\xfe\xfd", want{401, `{"detail":"Invalid token header. Token string should not contain invalid characters."}`, "Token"}},
	{"unknown key", "/api/protected/", "Token tka_0000000000000000000000000000000000000000000000000", want{401, `{"detail":"Invalid token."}`, "Token"}},
	{"garbage key", "/api/protected/", "Token not-a-token", want{401, `{"detail":"Invalid token."}`, "Token"}},
	{"legacy key not accepted", "/api/protected/", "Token 0123456789abcdef0123456789abcdef01234567", want{401, `{"detail":"Invalid token."}`, "Token"}},
	{"inactive user", "/api/protected/", "Token BOB", want{401, `{"detail":"User inactive or deleted."}`, "Token"}},
	{"valid", "/api/protected/", "Token ALICE", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"lower-case keyword", "/api/protected/", "token ALICE", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"upper-case keyword", "/api/protected/", "TOKEN ALICE", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"two spaces", "/api/protected/", "Token  ALICE", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"tab", "/api/protected/", "Token\tALICE", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"surrounding spaces", "/api/protected/", "  Token ALICE  ", want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"}},
	{"path parameter", "/api/items/42/", "Token ALICE", want{200, `{"id":"42","user":"1"}`, "-"}},
	{"scope missing", "/api/scoped/", "Token ALICE", want{403, `{"detail":"You do not have permission to perform this action."}`, "-"}},
	{"scope missing, no header", "/api/scoped/", "-", want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"}},
	{"public, anonymous", "/api/public/", "-", want{200, `{"message":"public","user":""}`, "-"}},
	{"public, other scheme", "/api/public/", "Basic YWxpY2U6cGFzc3dvcmQ=", want{200, `{"message":"public","user":""}`, "-"}},
	{"public, valid", "/api/public/", "Token ALICE", want{200, `{"message":"public","user":"1"}`, "-"}},
	{"public, keyword alone", "/api/public/", "Token", want{401, `{"detail":"Invalid token header. No credentials provided."}`, "Token"}},
	{"public, key with spaces", "/api/public/", "Token a b", want{401, `{"detail":"Invalid token header. Token string should not contain spaces."}`, "Token"}},
	{"public, unknown key", "/api/public/", "Token nope", want{401, `{"detail":"Invalid token."}`, "Token"}},
	{"public, inactive user", "/api/public/", "Token BOB", want{401, `{"detail":"User inactive or deleted."}`, "Token"}},
}

var flowCases = []struct {
	name string
	run  func(t *testing.T, env *HTTPEnv, h http.Handler)
}{
	{"scope granted", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		key := issue(t, env, "1", "read", "write")
		expectResponse(t, get(h, "/api/scoped/", key), want{200, `{"message":"scoped"}`, "-"})
	}},
	{"expired token", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		key, _, err := env.Auth.Issue(context.Background(), "1", tokenauth.IssueOptions{TTL: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		expectResponse(t, get(h, "/api/protected/", key), want{401, `{"detail":"Token has expired."}`, "Token"})
	}},
	{"revoked token", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		key := issue(t, env, "1")
		p, err := env.Auth.Verify(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Auth.Revoke(context.Background(), p.Token.ID); err != nil {
			t.Fatal(err)
		}
		expectResponse(t, get(h, "/api/protected/", key), want{401, `{"detail":"Invalid token."}`, "Token"})
	}},
	{"store outage", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		key := issue(t, env, "1")
		env.Store.SetErr(errors.New("dial tcp 10.0.0.7:5432: connection refused"))
		for _, path := range []string{"/api/protected/", "/api/public/", "/api/scoped/", "/api/items/1/"} {
			rec := get(h, path, key)
			expectResponse(t, rec, want{503, `{"detail":"Authentication service temporarily unavailable, try again later."}`, "-"})
			if rec.Header().Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", path)
			}
			if strings.Contains(rec.Body.String(), "refused") {
				t.Errorf("%s: internal error text reached the client: %s", path, rec.Body)
			}
		}
		// Anonymous requests to public routes need no store.
		expectResponse(t, get(h, "/api/public/", ""), want{200, `{"message":"public","user":""}`, "-"})
		env.Store.SetErr(nil)
		expectResponse(t, get(h, "/api/protected/", key), want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"})
	}},
	{"logout", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		key, other := issue(t, env, "1"), issue(t, env, "1")
		rec := do(h, http.MethodPost, "/api/logout/", key, "", nil)
		expectResponse(t, rec, want{status: 204})
		expectResponse(t, get(h, "/api/protected/", key), want{401, `{"detail":"Invalid token."}`, "Token"})
		expectResponse(t, get(h, "/api/protected/", other), want{200, `{"message":"ok","user":"1","ctx_user":"1"}`, "-"})
		expectResponse(t, do(h, http.MethodPost, "/api/logout/", "", "", nil),
			want{401, `{"detail":"Authentication credentials were not provided."}`, "Token"})
	}},
	{"logout all", func(t *testing.T, env *HTTPEnv, h http.Handler) {
		mine := []string{issue(t, env, "1"), issue(t, env, "1"), issue(t, env, "1")}
		theirs := issue(t, env, "3")
		expectResponse(t, do(h, http.MethodPost, "/api/logoutall/", mine[0], "", nil), want{status: 204})
		for _, key := range mine {
			expectResponse(t, get(h, "/api/protected/", key), want{401, `{"detail":"Invalid token."}`, "Token"})
		}
		p, err := env.Auth.Verify(context.Background(), theirs)
		if err != nil || p.Token.UserID != "3" {
			t.Errorf("another user's token stopped working after logout-all: %v", err)
		}
	}},
}

func issue(t *testing.T, env *HTTPEnv, userID string, scopes ...string) string {
	t.Helper()
	key, _, err := env.Auth.Issue(context.Background(), userID, tokenauth.IssueOptions{Name: "suite", Scopes: scopes})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return key
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func get(h http.Handler, path, key string) *httptest.ResponseRecorder {
	return do(h, http.MethodGet, path, key, "", nil)
}

func do(h http.Handler, method, path, key, contentType string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	if key != "" {
		r.Header.Set("Authorization", "Token "+key)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return serve(h, r)
}

func expectResponse(t *testing.T, rec *httptest.ResponseRecorder, w want) {
	t.Helper()
	if rec.Code != w.status {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, w.status, rec.Body)
	}
	if w.body != "" {
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		var got, exp any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Errorf("body %q is not JSON: %v", rec.Body, err)
		} else if err := json.Unmarshal([]byte(w.body), &exp); err != nil {
			panic("tokenauthtest: bad expected body " + w.body)
		} else if !jsonEqual(got, exp) {
			t.Errorf("body = %s, want %s", rec.Body, w.body)
		}
	}
	switch got := rec.Header().Get("WWW-Authenticate"); {
	case w.challenge == "-" && got != "":
		t.Errorf("WWW-Authenticate = %q, want none", got)
	case w.challenge != "" && w.challenge != "-" && got != w.challenge:
		t.Errorf("WWW-Authenticate = %q, want %q", got, w.challenge)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
