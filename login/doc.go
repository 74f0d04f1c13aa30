// Package login is tokenauth's login endpoint, the counterpart of Django
// REST Framework's obtain_auth_token: a POST of a username and password
// gets a new token, with DRF's status codes and bodies, so that DRF
// clients keep working.
//
//	auth, _ := tokenauth.New(store, tokenauth.Options{})
//	users := login.CredentialCheckerFunc(func(ctx context.Context, username, password string) (string, error) {
//		// look the user up, compare the password hash
//		return "", login.ErrBadCredentials
//	})
//	h, err := login.New(auth, users, login.Options{TTL: 30 * 24 * time.Hour})
//	mux.Handle("POST /api-token-auth/", h)
//
// The host supplies the CredentialChecker: its users, its password hashes.
// The handler decodes the body, asks the checker (within Options.Timeout),
// throttles attempts through a Limiter and issues the token through the
// Authenticator.
//
// # Throttling
//
// The default Limiter, a MemoryLimiter, counts failed logins. With its
// defaults:
//
//   - One address may fail 5 times a minute at one username and 50 times
//     a minute in all; then it gets 429 with Retry-After until the minute
//     ends.
//   - One account may take 10 failures, then one a minute, from addresses
//     it has not logged in from, all of them together: an attacker with
//     any number of addresses (an IPv6 /48 holds 65,536 /64 buckets) gets
//     at most 70 guesses at an account in the first hour and 60 in each
//     hour after.
//   - The real user is never held up by that account limit from an
//     address (IPv4, or IPv6 /64) where they logged in during the last 30
//     days; there the worst wait is the minute that follows five typos of
//     their own. From a new address, while an attack on their account
//     goes on, they share its one attempt a minute with the attacker: each
//     refusal says to retry within 60 seconds.
//   - Attempts beyond a budget that is full only of attempts still in
//     flight wait up to 3 seconds for them rather than being refused, so
//     50 parallel correct logins of one user from one address all succeed,
//     while 40 parallel wrong guesses reach the checker 5 times.
//
// Usernames are counted as Options.Canonical folds them (FoldUsername by
// default: case and width). A host whose database matches usernames
// accent-insensitively must pass a Canonical that folds accents too, or
// each spelling of a username gets budgets of its own.
package login
