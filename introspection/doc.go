// Package introspection lets services that cannot reach the token store
// check and revoke tokenauth tokens over HTTP: an API gateway, a service
// in another language, a second Go service. tokenauth tokens are opaque,
// so only the service holding the store can tell whether one is valid;
// this package gives it the two standard endpoints, RFC 7662
// (introspection) and RFC 7009 (revocation), and gives Go resource
// servers a caching Client whose middleware answers as the
// Authenticator's does.
//
// On the service that holds the store:
//
//	srv, err := introspection.New(auth, introspection.Options{
//		Clients: introspection.StaticClients(map[string]string{"gateway": os.Getenv("GATEWAY_SECRET")}),
//	})
//	mux.Handle("/oauth/introspect", srv.IntrospectionHandler())
//	mux.Handle("/oauth/revoke", srv.RevocationHandler())
//
// On a resource server:
//
//	c, err := introspection.NewClient("https://auth.example.com/oauth/introspect", introspection.ClientOptions{
//		ClientID: "gateway", ClientSecret: os.Getenv("GATEWAY_SECRET"),
//	})
//	mux.Handle("/api/", c.Require("read")(api)) // handlers call tokenauth.FromContext
//
// # Security
//
// Introspection tells who owns a token and what it may do, so callers
// must authenticate, as in ory/fosite, Hydra, Keycloak and Duende: with
// HTTP Basic credentials the host checks (Options.Clients), or with a
// tokenauth token carrying the scope "introspect" (Options.Scope). Grant
// that scope to services only. A caller may not introspect the token it
// authenticated with. Revocation is also open to a token's own holder.
// Serve both endpoints over TLS.
//
// When the store cannot answer, both endpoints answer 503 with
// Retry-After: introspection never says {"active":false} for a token it
// could not check, and revocation never says 200 for a token it could not
// revoke (ory/fosite does, and the token lives on). The Client, likewise,
// answers 503 when the endpoint fails, times out or sends anything but an
// introspection answer, never 401: clients must not drop good tokens.
//
// The Client caches answers for CacheTTL (10 seconds by default, never
// past the token's expiry): a token revoked at the endpoint keeps working
// at the resource server for up to that long. Keys are cached by their
// SHA-256, never in plaintext, and concurrent requests with one key make
// one call to the endpoint.
package introspection
