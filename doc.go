// Package tokenauth is opaque API-token authentication for Go services: what
// Django REST Framework's TokenAuthentication and obtain_auth_token give a
// Django service, with hashed storage, expiry, scopes and real stores.
//
// An Authenticator issues tokens and checks them. Tokens look like
// "tka_<43 base62 characters><6-character checksum>": 256 random bits from
// crypto/rand, a prefix that secret scanners can find, and a CRC32 that
// rejects typos and junk before any store is asked. Stores keep only a
// digest of each token (SHA-256, or HMAC-SHA256 with a server key), so a
// leaked table yields no usable token, and lookups by digest need no
// secret comparison.
//
//	store := memstore.New() // or sqlstore, redisstore, your own Store
//	auth, err := tokenauth.New(store, tokenauth.Options{})
//	key, _, err := auth.Issue(ctx, "42", tokenauth.IssueOptions{Name: "cli"})
//
//	mux.Handle("/api/", auth.Require()(api))                // every route under /api/
//	mux.Handle("POST /admin/", auth.Require("admin")(admin)) // and a scope
//	// in a handler:
//	tok, _ := tokenauth.FromContext(r.Context()) // tok.UserID == "42"
//
// Clients send "Authorization: Token <key>" (the keyword, "Bearer" and other
// sources are configurable). The middleware answers as DRF does: 401 with
// DRF's JSON bodies and WWW-Authenticate for missing or bad credentials,
// 403 for missing scopes, and 503 with Retry-After when the store is down,
// so that clients never discard a good token during an outage.
//
// Check is the one decision behind the middleware, the logout handlers and
// the framework adapters. Errors are sentinels wrapped with %w; Classify
// maps them to a status and a client-safe message, and ErrorHandler
// renders them.
//
// Packages of this module: login (the login endpoint and its throttling),
// selfservice (users list, revoke and create their own tokens), memstore
// (in memory), cachestore (a cache in front of any Store) and
// tokenauthtest (test helpers and the Store suite). The stores/, adapters/
// and cmd/ modules hold everything that needs a third-party dependency.
package tokenauth
