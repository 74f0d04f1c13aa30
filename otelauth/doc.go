// Package otelauth turns tokenauth's hooks into OpenTelemetry metrics and
// spans. The core stays free of dependencies: it only calls the functions
// its Options hold, and this module fills them.
//
//	tel, err := otelauth.New(otelauth.Options{}) // the global providers
//	cache, _ := cachestore.New(store, cachestore.Options{})
//	_ = tel.ObserveCache(cache)
//	auth, _ := tokenauth.New(cache, tokenauth.Options{
//		OnCheck:     tel.OnCheck,
//		OnStoreCall: tel.OnStoreCall,
//	})
//	h, _ := login.New(auth, users, login.Options{OnLogin: tel.OnLogin})
//	mux.Handle("/api/", auth.Require()(api))
//
// Every attribute comes from a closed set, so that no metric grows a
// series per user, token or error message: a value this package does not
// know is reported as "_OTHER". User IDs never reach a metric; only the
// opt-in RecordUserID middleware puts one on a span. Keys, digests and
// error texts reach neither.
//
// Spans are made after the fact, from the time a hook reports, and only
// under a span the context already carries (the server span of otelhttp
// or of the host's framework): a check is part of a request, and a trace
// of its own per check would be noise no one can place.
package otelauth
