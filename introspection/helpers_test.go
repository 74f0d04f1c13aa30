package introspection_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/require"
)

// fixture is a service with a token store, its endpoints and a clock.
type fixture struct {
	auth  *tokenauth.Authenticator
	store *tokenauthtest.FailingStore
	clock *tokenauthtest.Clock
	srv   *introspection.Server
	// users are the names Options.Username gives; "" has none.
	users map[string]string
	// usersErr, when set, makes Options.Username fail.
	usersErr error
}

// quiet discards the logs of tests that cause failures on purpose.
var quiet = slog.New(slog.DiscardHandler)

const (
	clientID     = "gateway"
	clientSecret = "s3cret+/%" // characters that form-encoding changes
)

func newFixture(t *testing.T, opts tokenauth.Options) *fixture {
	t.Helper()
	f := &fixture{clock: tokenauthtest.NewClock(), users: map[string]string{"42": "alice"}}
	opts.Now = f.clock.Now
	opts.Logger = quiet
	f.auth, f.store = tokenauthtest.New(t, opts)
	t.Cleanup(func() { _ = f.auth.Close() })
	var err error
	f.srv, err = introspection.New(f.auth, introspection.Options{
		Clients: introspection.StaticClients(map[string]string{clientID: clientSecret}),
		Logger:  quiet,
		Username: func(_ context.Context, p tokenauth.Principal) (string, error) {
			return f.users[p.Token.UserID], f.usersErr
		},
	})
	require.NoError(t, err)
	return f
}

// issue issues a token for user with the given lifetime (zero: none) and
// scopes.
func (f *fixture) issue(t *testing.T, user string, ttl time.Duration, scopes ...string) (string, *tokenauth.Token) {
	t.Helper()
	key, tok, err := f.auth.Issue(context.Background(), user, tokenauth.IssueOptions{Name: "test", TTL: ttl, Scopes: scopes})
	require.NoError(t, err)
	return key, tok
}

// live reports whether key still authenticates.
func (f *fixture) live(t *testing.T, key string) bool {
	t.Helper()
	f.store.SetErr(nil)
	_, err := f.auth.Verify(context.Background(), key)
	if err != nil && !errors.Is(err, tokenauth.ErrInvalidToken) {
		t.Fatalf("Verify: %v", err)
	}
	return err == nil
}

// basic is the Authorization header of the gateway client, encoded as
// RFC 6749 §2.3.1 says.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// post sends form to h as a form body, with the given Authorization
// header (none if empty).
func post(h http.Handler, authz string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func tokenForm(key string, kv ...string) url.Values {
	v := url.Values{"token": {key}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
