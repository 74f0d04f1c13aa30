// Package secretscan receives GitHub's secret scanning reports, so that a
// tokenauth token leaked in a public repository is revoked within seconds
// of being pushed.
//
// tokenauth tokens start with a prefix ("tka_") and end with a checksum
// so that secret scanners find them. A service registered with GitHub's
// secret scanning partner program gives GitHub a pattern and this
// endpoint; GitHub then POSTs every match it finds in public code,
// issues, gists and npm packages. The Handler checks each token with the
// Authenticator, revokes the live ones, tells the host through OnLeak so
// that their owners hear of it, and answers with GitHub's feedback:
// true_positive or false_positive per token, by its SHA-256.
//
//	h, err := secretscan.New(auth, secretscan.Options{
//		OnLeak: func(ctx context.Context, l secretscan.Leak) {
//			notify(l.Token.UserID, l.Token.Name, l.Found[0].URL) // queue an email
//		},
//	})
//	mux.Handle("POST /github/secret-scanning", h)
//
// # Security
//
// Anyone can POST to the endpoint, so nothing is believed until the
// signature verifies: ECDSA P-256 over the raw body, with the key GitHub
// lists at DefaultKeysURL under the ID the request names. The list is
// fetched when first needed, checked hourly with a conditional request,
// and fetched again for a key ID it lacks at most once a minute, so that
// made-up key IDs cannot make the Handler hammer GitHub. A bad signature,
// an unknown key, a body over MaxBodyBytes or a malformed report revokes
// nothing.
//
// A signed report can be replayed, since GitHub's signature carries no
// time: a replay only names tokens already revoked, so it revokes
// nothing more and OnLeak does not hear of them again. Reports are
// idempotent, and GitHub may send one again.
//
// When the token store cannot answer (or GitHub's key list was never
// fetched), the Handler answers 503 with Retry-After: a leaked token is
// never labelled or forgotten on a guess. Tokens revoked before the
// outage stay revoked, and a report sent again labels them true_positive
// still: the Handler remembers for a day the tokens it revoked.
//
// Every stored token a report names is revoked (Authenticator.RevokeKey),
// whatever its state: an expired one, or one whose user the UserLoader
// refuses today, could otherwise come back.
package secretscan
