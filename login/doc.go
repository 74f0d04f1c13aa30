// Package login is tokenauth's login endpoint, the counterpart of Django
// REST Framework's obtain_auth_token: a POST of a username and password
// gets a new token, with DRF's status codes and bodies, so that DRF
// clients keep working.
//
//	auth, _ := tokenauth.New(store, tokenauth.Options{})
//	users := login.CredentialCheckerFunc(func(ctx context.Context, username, password string) (login.Grant, error) {
//		// look the user up, compare the password hash
//		return login.Grant{UserID: "42", Scopes: []string{"admin"}}, nil
//	})
//	h, err := login.New(auth, users, login.Options{TTL: 30 * 24 * time.Hour})
//	mux.Handle("POST /api-token-auth/", h)
//
// The host supplies the CredentialChecker: its users, its password hashes,
// and per user the token's scopes (an administrator's "admin"). The
// handler decodes the body, asks the checker (within Options.Timeout),
// throttles attempts through a Limiter and issues the token through the
// Authenticator. Each login issues a new token, and a user keeps the 10
// newest (Options.MaxTokensPerUser); Django REST Framework hands every
// login the same stored key instead, which a store that keeps only
// digests cannot do.
//
// A password change that calls RevokeAll while a login's password check
// runs voids that login too: it answers "Unable to log in with provided
// credentials." and stores no token.
//
// # Throttling
//
// The default Limiter, a MemoryLimiter, counts failed logins. With its
// defaults:
//
//   - One address may fail 5 times a minute at one username and 50 times
//     a minute in all; then it gets 429 with Retry-After until the minute
//     ends.
//   - One account may take 10 failures, then one a minute, from untrusted
//     clients (addresses it has not logged in from, without a device of
//     its), all of them together, and 2 more from addresses that have not
//     failed in 24 hours: an attacker with any number of addresses (an IPv6
//     /48 holds 65,536 /64 buckets) gets at most 72 guesses at an account
//     in the first hour and 60 in each hour after. No flood of other
//     usernames refills that credit: what an evicted entry owes is kept in
//     a fixed-size sketch that errs only on the strict side.
//   - The real user is not held up by that account limit from a familiar
//     address (IPv4, or IPv6 /64, where they logged in during the last 30
//     days), nor, with Options.DeviceKey set, on a device that logged in
//     before, from any address: there the worst wait is the minute that
//     follows five typos of their own. A stolen device cookie is worth at
//     most 65 guesses in the first hour and 60 an hour after. On a new
//     device and a new address, during an attack, they get in through the
//     2 attempts kept for addresses in good standing, unless the attacker
//     spends a never-failed address on each guess.
//   - Attempts beyond a budget that is full only of attempts still in
//     flight wait up to 3 seconds for them rather than being refused, so
//     50 parallel correct logins of one user from one address all succeed,
//     while 40 parallel wrong guesses reach the checker 5 times.
//
// Usernames are counted as Options.Canonical folds them. FoldUsername, the
// default, drops what collations ignore (zero-width and other default
// ignorable characters, controls, marks), folds case and width, and counts
// 150 runes at most. A host whose database also matches precomposed
// accents, "ß" and "ss" or other compatibility forms must pass a Canonical
// that folds those too, or each spelling of a username gets budgets of its
// own.
package login
