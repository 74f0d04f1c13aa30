package introspection

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
)

// StaticClients returns an Options.Clients that accepts the client IDs
// and secrets of secrets (ID to secret), for a fixed set of callers kept
// in configuration. Secrets are compared through their SHA-256 in
// constant time, so that the timing reveals neither their content nor
// their length, and a wrong ID costs what a wrong secret does. Entries
// with an empty secret are ignored.
func StaticClients(secrets map[string]string) func(ctx context.Context, clientID, secret string) (bool, error) {
	sums := make(map[string][sha256.Size]byte, len(secrets))
	for id, secret := range secrets {
		if secret != "" {
			sums[id] = sha256.Sum256([]byte(secret))
		}
	}
	return func(_ context.Context, clientID, secret string) (bool, error) {
		want, known := sums[clientID]
		got := sha256.Sum256([]byte(secret))
		return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && known, nil
	}
}
