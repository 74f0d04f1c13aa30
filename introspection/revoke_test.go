package introspection_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/introspection"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRevocationRFC7009(t *testing.T) {
	gateway := basic(clientID, clientSecret)
	revoked := func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
		assert.False(t, f.live(t, form.Get("token")), "the token is revoked")
	}
	alive := func(t *testing.T, f *fixture, w *httptest.ResponseRecorder, form url.Values) {
		assert.True(t, f.live(t, form.Get("token")), "the token is not revoked")
	}
	cases := append(requestCases(), []endpointCase{
		{
			name: "§2.1 the holder revokes its token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return "Token " + key, tokenForm(key, "token_type_hint", "access_token")
			},
			status: 200, body: "-", check: revoked,
		},
		{
			name: "§2.1 a holder may not revoke another token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				mine, _ := f.issue(t, "42", 0)
				theirs, _ := f.issue(t, "42", 0)
				return "Token " + mine, tokenForm(theirs)
			},
			status: 401, body: `{"error":"invalid_client"}`, check: alive,
		},
		{
			name: "§2.1 an authenticated client revokes any token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return gateway, tokenForm(key)
			},
			status: 200, body: "-", check: revoked,
		},
		{
			name: "§2.1 a token with the scope revokes any token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				caller, _ := f.issue(t, "gw", 0, "introspect")
				key, _ := f.issue(t, "42", 0)
				return "Token " + caller, tokenForm(key)
			},
			status: 200, body: "-", check: revoked,
		},
		{
			name: "§2.2 unknown token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				other, _ := tokenauthtest.New(t, tokenauth.Options{})
				return gateway, tokenForm(tokenauthtest.Issue(t, other, "42"))
			},
			status: 200, body: "-",
		},
		{
			name: "§2.2 malformed token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				return gateway, tokenForm("not a token")
			},
			status: 200, body: "-",
		},
		{
			name: "§2.2 expired token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", time.Minute)
				f.clock.Advance(time.Minute)
				return gateway, tokenForm(key)
			},
			status: 200, body: "-",
		},
		{
			name: "§2.2 already revoked token",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, tok := f.issue(t, "42", 0)
				require.NoError(t, f.auth.Revoke(context.Background(), tok.ID))
				return gateway, tokenForm(key)
			},
			status: 200, body: "-",
		},
	}...)
	for _, hint := range hints {
		cases = append(cases, endpointCase{
			name: "§2.1 token_type_hint " + hint + " is ignored",
			req: func(t *testing.T, f *fixture) (string, url.Values) {
				key, _ := f.issue(t, "42", 0)
				return gateway, tokenForm(key, "token_type_hint", hint)
			},
			status: 200, body: "-", check: revoked,
		})
	}
	runEndpointCases(t, (*introspection.Server).RevocationHandler, cases)
}

// deleteFailing is a store whose Delete fails, as when the database goes
// down between the lookup and the delete.
type deleteFailing struct{ tokenauth.Store }

func (deleteFailing) Delete(context.Context, string) error { return errors.New("connection reset") }

// Revocation goes through Authenticator.Revoke, and so through the
// Store's Delete: when that fails, the caller gets 503 and the token
// lives.
func TestRevocationDeleteFails(t *testing.T) {
	auth, err := tokenauth.New(deleteFailing{memstore.New()}, tokenauth.Options{Logger: quiet})
	require.NoError(t, err)
	srv, err := introspection.New(auth, introspection.Options{Clients: introspection.StaticClients(map[string]string{clientID: clientSecret})})
	require.NoError(t, err)
	key := tokenauthtest.Issue(t, auth, "42")

	w := post(srv.RevocationHandler(), basic(clientID, clientSecret), tokenForm(key))
	assert.Equal(t, 503, w.Code)
	assert.Equal(t, "5", w.Header().Get("Retry-After"))
	_, err = auth.Verify(context.Background(), key)
	assert.NoError(t, err)
}
