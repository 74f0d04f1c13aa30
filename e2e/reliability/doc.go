// Package reliability holds the tests that show tokenauth failing safe
// against real databases; it has no code of its own. Each test fails if
// the behaviour it names regresses:
//
//   - TestOutage puts a TCP proxy (internal/faultproxy) between a real
//     HTTP service and PostgreSQL or Redis, and cuts it, black-holes it and
//     slows it down under load: every request gets 503 with Retry-After
//     within the store timeout, never 401 or 500; once the link is back,
//     requests succeed again within a second (of the database serving
//     fresh connections again, if that comes later), and every token
//     issued before the outage still authenticates with the same record.
//   - TestFreeze freezes the proxy instead (connections stay open, new
//     ones are accepted, no byte moves, as when the database hangs) in
//     front of three services: without a cache, with a cache and a
//     UserLoader that reads the database, with a cache alone. Protected,
//     login, logout, logout-all and rotate requests answer 503 with
//     Retry-After within StoreTimeout + 1 s, never 401 or a hang. A cached
//     token that needs nothing else from the database answers 200 from
//     memory, but only while its cache can trust its subscription to
//     revocations, which froze too: once 3 s have passed without a
//     confirmation it gets 503 like the rest. Once the freeze ends, reads
//     and logins succeed again within a second of the database serving
//     new connections again (retried on 503: the database first starts a
//     backend for each connection dialed during the freeze, which is
//     measured apart), then each revocation succeeds at its first attempt.
//   - TestReplicasAgree runs two replicas, each with its own hour-long
//     cache, over one PostgreSQL or Redis store under load: a token revoked
//     on one is refused there at once and on the other within 100 ms, as
//     the store's revocation event arrives.
//   - TestCacheRevocationDuringLookup checks that a revocation through a
//     cachestore.Store is honoured at once even by a lookup that joins a
//     store call begun before it.
//   - TestUnknownTokenLookupByDigest shows that authenticating a
//     well-formed but unknown token compares no secret: the store is asked
//     once, by the token's digest, and nothing else runs; malformed keys,
//     and with HMAC keys forged without the server key, reach no store.
//
// The PostgreSQL and Redis tests read TOKENAUTH_TEST_POSTGRES_DSN and
// TOKENAUTH_TEST_REDIS_ADDR and are skipped when they are unset:
//
//	TOKENAUTH_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	TOKENAUTH_TEST_REDIS_ADDR=127.0.0.1:6379 \
//	go test -race ./reliability
package reliability
