package introspection_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// revokeCaller points zitadel/oidc's RFC 7009 client at an endpoint.
type revokeCaller struct {
	endpoint string
	client   *http.Client
}

func (c revokeCaller) GetRevokeEndpoint() string { return c.endpoint }
func (c revokeCaller) HttpClient() *http.Client  { return c.client }

// zitadel/oidc, a widely used OpenID Connect library, checks tokens at the
// endpoints with its own RFC 7662 and RFC 7009 clients: its resource
// server client reads a live token with its scopes and expiry, and a
// token it revoked as inactive.
func TestZitadelClient(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, tokenauth.Options{})
	mux := http.NewServeMux()
	mux.Handle("/oauth/introspect", f.srv.IntrospectionHandler())
	mux.Handle("/oauth/revoke", f.srv.RevocationHandler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	// Static endpoints: no discovery document. The token endpoint is never
	// called.
	endpoints := rs.WithStaticEndpoints(ts.URL+"/oauth/token", ts.URL+"/oauth/introspect")
	server, err := rs.NewResourceServerClientCredentials(ctx, ts.URL, clientID, clientSecret, endpoints)
	require.NoError(t, err)

	key, tok := f.issue(t, "42", time.Hour, "read", "write")
	got, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, server, key)
	require.NoError(t, err)
	assert.True(t, got.Active)
	assert.Equal(t, oidc.SpaceDelimitedArray{"read", "write"}, got.Scope)
	assert.Equal(t, tok.ExpiresAt.Unix(), got.Expiration.AsTime().Unix())
	assert.Equal(t, tok.CreatedAt.Unix(), got.IssuedAt.AsTime().Unix())
	assert.Equal(t, "42", got.Subject)
	assert.Equal(t, "alice", got.Username)
	assert.Equal(t, tok.ID, got.JWTID)
	assert.Equal(t, "Token", got.TokenType)

	revoke := client.RevokeRequest{Token: key, TokenTypeHint: "access_token", ClientID: clientID, ClientSecret: clientSecret}
	require.NoError(t, client.CallRevokeEndpoint(ctx, revoke, nil, revokeCaller{ts.URL + "/oauth/revoke", ts.Client()}))
	got, err = rs.Introspect[*oidc.IntrospectionResponse](ctx, server, key)
	require.NoError(t, err)
	assert.False(t, got.Active, "a revoked token is inactive")

	// Revoking again is harmless (RFC 7009 §2.2).
	require.NoError(t, client.CallRevokeEndpoint(ctx, revoke, nil, revokeCaller{ts.URL + "/oauth/revoke", ts.Client()}))

	// A caller with a wrong secret gets the RFC 6749 error it understands.
	stranger, err := rs.NewResourceServerClientCredentials(ctx, ts.URL, clientID, "guess", endpoints)
	require.NoError(t, err)
	live, _ := f.issue(t, "42", 0)
	_, err = rs.Introspect[*oidc.IntrospectionResponse](ctx, stranger, live)
	var oerr *oidc.Error
	require.ErrorAs(t, err, &oerr)
	assert.EqualValues(t, "invalid_client", oerr.ErrorType)

	// An outage is an error, never an inactive token.
	f.store.SetErr(errors.New("database down"))
	_, err = rs.Introspect[*oidc.IntrospectionResponse](ctx, server, live)
	require.ErrorAs(t, err, &oerr)
	assert.EqualValues(t, "temporarily_unavailable", oerr.ErrorType)
}
