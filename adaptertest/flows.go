package adaptertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// flowCases are the behaviours that take more than one request, or an
// Authenticator configured otherwise (configure, when not nil).
var flowCases = []struct {
	name      string
	configure func(*tokenauth.Options)
	run       func(t *testing.T, env *Env, h http.Handler)
}{
	{"scope granted", nil, func(t *testing.T, env *Env, h http.Handler) {
		key := issue(t, env, "1", "read", "write")
		expectResponse(t, get(h, "/api/scoped/", key), want{200, `{"message":"scoped"}`, "-", ""})
	}},
	{"expired token", nil, func(t *testing.T, env *Env, h http.Handler) {
		key, _, err := env.Auth.Issue(context.Background(), "1", tokenauth.IssueOptions{TTL: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		expectResponse(t, get(h, "/api/protected/", key), denied("Token has expired."))
	}},
	{"revoked token", nil, func(t *testing.T, env *Env, h http.Handler) {
		key := issue(t, env, "1")
		p, err := env.Auth.Verify(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Auth.Revoke(context.Background(), p.Token.ID); err != nil {
			t.Fatal(err)
		}
		expectResponse(t, get(h, "/api/protected/", key), denied(invalidToken))
	}},
	{"store outage", nil, func(t *testing.T, env *Env, h http.Handler) {
		key := issue(t, env, "1")
		env.Store.SetErr(errors.New("dial tcp 10.0.0.7:5432: connection refused"))
		// The group asks the store before its router answers 404 or 405.
		for _, r := range [][2]string{{"GET", "/api/protected/"}, {"GET", "/api/public/"}, {"GET", "/api/scoped/"},
			{"GET", "/api/items/1/"}, {"GET", "/api/nope/"}, {"POST", "/api/protected/"}} {
			rec := do(h, r[0], r[1], key, "", nil)
			expectResponse(t, rec, want{503, `{"detail":"Authentication service temporarily unavailable, try again later."}`, "-", "-"})
			if rec.Header().Get("Retry-After") == "" {
				t.Errorf("%s %s: 503 without Retry-After", r[0], r[1])
			}
			if strings.Contains(rec.Body.String(), "refused") {
				t.Errorf("%s %s: internal error text reached the client: %s", r[0], r[1], rec.Body)
			}
		}
		// Anonymous requests to public routes need no store.
		expectResponse(t, get(h, "/api/public/", ""), anonymous)
		env.Store.SetErr(nil)
		expectResponse(t, get(h, "/api/protected/", key), okAlice)
	}},
	{"logout", nil, func(t *testing.T, env *Env, h http.Handler) {
		key, other := issue(t, env, "1"), issue(t, env, "1")
		expectResponse(t, do(h, http.MethodPost, "/api/logout/", key, "", nil), want{status: 204})
		expectResponse(t, get(h, "/api/protected/", key), denied(invalidToken))
		expectResponse(t, get(h, "/api/protected/", other), okAlice)
		expectResponse(t, do(h, http.MethodPost, "/api/logout/", "", "", nil), denied(noCredentials))
	}},
	{"logout all", nil, func(t *testing.T, env *Env, h http.Handler) {
		mine := []string{issue(t, env, "1"), issue(t, env, "1"), issue(t, env, "1")}
		theirs := issue(t, env, "3")
		expectResponse(t, do(h, http.MethodPost, "/api/logoutall/", mine[0], "", nil), want{status: 204})
		for _, key := range mine {
			expectResponse(t, get(h, "/api/protected/", key), denied(invalidToken))
		}
		expectVerified(t, env, theirs, "3")
	}},
	{"logout others", nil, func(t *testing.T, env *Env, h http.Handler) {
		mine := []string{issue(t, env, "1"), issue(t, env, "1"), issue(t, env, "1")}
		theirs := issue(t, env, "3")
		expectResponse(t, do(h, http.MethodPost, "/api/logout-others/", mine[0], "", nil), want{status: 204})
		expectResponse(t, get(h, "/api/protected/", mine[0]), okAlice)
		for _, key := range mine[1:] {
			expectResponse(t, get(h, "/api/protected/", key), denied(invalidToken))
		}
		expectVerified(t, env, theirs, "3")
		expectResponse(t, do(h, http.MethodPost, "/api/logout-others/", "", "", nil), denied(noCredentials))
	}},
	{"nested require looks up once", nil, func(t *testing.T, env *Env, h http.Handler) {
		key := issue(t, env, "1", "write")
		before := env.Store.Calls()
		expectResponse(t, get(h, "/api/scoped/", key), want{200, `{"message":"scoped"}`, "-", ""})
		if n := env.Store.Calls() - before; n != 1 {
			t.Errorf("the group's check and the route's scope check made %d store calls, want 1", n)
		}
	}},
	{"principal already in the request context", nil, func(t *testing.T, env *Env, h http.Handler) {
		// What a host's test does with tokenauthtest.WithUser: the
		// framework's getters read the request context, and the group's
		// check takes the Principal found there without asking the store.
		r := tokenauthtest.WithUser(httptest.NewRequest(http.MethodGet, "/api/protected/", nil), "1", &User{ID: "1", Username: "alice"})
		before := env.Store.Calls()
		expectResponse(t, serve(h, r), okAlice)
		if n := env.Store.Calls() - before; n != 0 {
			t.Errorf("%d store calls, want none", n)
		}
	}},
	{"custom error handler", func(o *tokenauth.Options) {
		o.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			status, _ := tokenauth.Classify(err)
			http.Error(w, "custom", status)
		}
	}, func(t *testing.T, env *Env, h http.Handler) {
		// Every failure goes through the Authenticator's Error, and the
		// framework writes nothing after it.
		key := issue(t, env, "1")
		for _, r := range []struct {
			method, path, key string
			status            int
		}{
			{"GET", "/api/protected/", "", 401},
			{"GET", "/api/public/", "tka_bad", 401},
			{"GET", "/api/scoped/", key, 403},
			{"GET", "/api/nope/", "", 401},
			{"POST", "/api/protected/", "", 401},
			{"POST", "/api/logout/", "", 401},
		} {
			rec := do(h, r.method, r.path, r.key, "", nil)
			if rec.Code != r.status || rec.Body.String() != "custom\n" {
				t.Errorf("%s %s: %d %q, want %d %q", r.method, r.path, rec.Code, rec.Body, r.status, "custom\n")
			}
		}
		env.Store.SetErr(errors.New("connection refused"))
		rec := get(h, "/api/protected/", key)
		if rec.Code != 503 || rec.Body.String() != "custom\n" || rec.Header().Get("Retry-After") == "" {
			t.Errorf("outage: %d %q, Retry-After %q; want 503 %q with Retry-After", rec.Code, rec.Body, rec.Header().Get("Retry-After"), "custom\n")
		}
	}},
}

// expectVerified checks that key still authenticates userID.
func expectVerified(t *testing.T, env *Env, key, userID string) {
	t.Helper()
	p, err := env.Auth.Verify(context.Background(), key)
	if err != nil || p.Token.UserID != userID {
		t.Errorf("user %s's token stopped working: %v", userID, err)
	}
}
