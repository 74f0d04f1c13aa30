// Package tokenauth is opaque API-token authentication for Go services:
// Django REST Framework's (DRF's) TokenAuthentication, with hashed storage,
// expiry, scopes and real stores.
//
// Tokens look like "tka_<43 base62 characters><6-character checksum>": 256
// random bits, a prefix secret scanners find, and a checksum that rejects
// typos before any store is asked. Stores keep only a digest (SHA-256, or
// HMAC-SHA256 with a server key), so a leaked table yields no usable token.
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
// Clients send "Authorization: Token <key>" (configurable). As in DRF,
// failures get 401 for missing or bad credentials, 403 for missing scopes,
// and 503 with Retry-After when the store is down, so that clients never
// discard a good token. Check decides for the middleware, logout handlers
// and adapters; Classify maps its errors to a status and client-safe text.
//
// Also in this module: login, client, selfservice, secretscan, tokenauthtest
// and the stores memstore and cachestore (under stores/, beside the sqlstore
// and redisstore modules); the adapters/ and cmd/ modules, like sqlstore and
// redisstore, hold what needs other dependencies.
package tokenauth
