package adaptertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// Env is what Run gives the server under test: an Authenticator over a
// store whose users are
//
//	"1": alice, password "password", active
//	"2": bob, password "password", inactive (refused by the UserLoader)
//	"3": carol, password "password", active
//
// and a login handler (package login) over those users.
type Env struct {
	// Auth authenticates with the "Token" keyword and a UserLoader that
	// returns a *User and refuses bob. It records no last use, so that
	// the suite can count store calls.
	Auth *tokenauth.Authenticator
	// Store is memstore behind a FailingStore; the suite switches outages
	// on with SetErr and counts lookups with Calls.
	Store *tokenauthtest.FailingStore
	// Login is the login handler (login.New) over the suite's users, with
	// throttling off.
	Login http.Handler
}

// User is the user value the suite's UserLoader returns.
type User struct {
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

// newHTTPEnv builds the environment for one case; configure, if not nil,
// changes the Authenticator's options.
func newHTTPEnv(t *testing.T, configure func(*tokenauth.Options)) *Env {
	t.Helper()
	s := tokenauthtest.NewFailingStore(memstore.New())
	opts := tokenauth.Options{
		UserLoader: func(ctx context.Context, userID string) (any, error) {
			for name, u := range suiteUsers {
				if u.id == userID {
					if !u.active {
						return nil, tokenauth.ErrUserInactive
					}
					return &User{ID: u.id, Username: name}, nil
				}
			}
			return nil, tokenauth.ErrNotFound
		},
		TouchInterval: -1,
		Logger:        discardLogger,
	}
	if configure != nil {
		configure(&opts)
	}
	a, err := tokenauth.New(s, opts)
	if err != nil {
		t.Fatalf("tokenauth.New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return &Env{Auth: a, Store: s, Login: newSuiteLogin(t, a)}
}

// Run runs the shared table of HTTP behaviour against the handler
// newServer builds for each case: Django REST Framework's protected-endpoint
// and login tables, logout, scopes, expiry, a store outage (503), a custom
// ErrorHandler, and the answers of net/http's ServeMux behind
// auth.Require(): 401 before any 404 or 405, and 405 with an Allow header.
// Adapters for web frameworks run it to prove that they answer exactly as
// the core's net/http middleware does.
//
// The handler must route:
//
//	/api-token-auth/           env.Login, for every method (it answers 405 itself)
//	GET  /api/public/          optional; 200 {"message":"public","user":U or ""}
//
// and, in a group that requires credentials for every path under /api/
// (as net/http's mux.Handle("/api/", auth.Require()(api)) does):
//
//	POST /api/logout/          env.Auth.LogoutHandler()
//	POST /api/logoutall/       env.Auth.LogoutAllHandler()
//	POST /api/logout-others/   env.Auth.LogoutOthersHandler()
//	GET  /api/protected/       200 {"message":"ok","user":U,"ctx_user":C,"username":N}
//	GET  /api/scoped/          scope "write" required too; 200 {"message":"scoped"}
//	GET  /api/items/{id}/      200 {"id":<path parameter>,"user":U}
//
// where U is the token's UserID read through the framework's own getter,
// C the same read with tokenauth.FromContext(r.Context()), and N the
// Username of the *User read through the framework's own user getter.
// The logout routes may take every method instead of POST only, and may
// sit outside the group (chiauth.Mount's do): the logout handlers check
// credentials first themselves. Nothing else may be routed under /api/:
// the suite expects the group's 404 there, and its 405 with an Allow
// header for a path routed for other methods.
func Run(t *testing.T, newServer func(t *testing.T, env *Env) http.Handler) {
	t.Helper()
	runRequestCases(t, "protected/", protectedCases, newServer)
	runRequestCases(t, "routing/", routingCases, newServer)
	for _, tc := range flowCases {
		t.Run("flow/"+tc.name, func(t *testing.T) {
			env := newHTTPEnv(t, tc.configure)
			tc.run(t, env, newServer(t, env))
		})
	}
	runLoginTests(t, newServer)
}

// requestCase is one request and the response it must get. In header,
// ALICE and BOB stand for a valid token of alice and of bob (inactive);
// "-" sends no Authorization header.
type requestCase struct {
	name, method, path, header string
	want                       want
}

func runRequestCases(t *testing.T, prefix string, cases []requestCase, newServer func(t *testing.T, env *Env) http.Handler) {
	t.Helper()
	for _, tc := range cases {
		t.Run(prefix+tc.name, func(t *testing.T) {
			env := newHTTPEnv(t, nil)
			h := newServer(t, env)
			alice := issue(t, env, "1")
			bob := issue(t, env, "2")
			header := strings.NewReplacer("ALICE", alice, "BOB", bob).Replace(tc.header)
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.header != "-" {
				req.Header.Set("Authorization", header)
			}
			expectResponse(t, serve(h, req), tc.want)
		})
	}
}

// want describes an expected response; empty fields are not checked.
type want struct {
	status    int
	body      string // exact JSON, compared semantically
	challenge string // WWW-Authenticate; "-" means absent
	allow     string // a method the Allow header must list; "-" means no Allow header
}

func issue(t *testing.T, env *Env, userID string, scopes ...string) string {
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
			panic("adaptertest: bad expected body " + w.body)
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
	expectAllow(t, rec, w.allow)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
