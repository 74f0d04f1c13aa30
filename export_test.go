package tokenauth

// FlushUses writes a's recorded token uses now, for tests that check what
// reached the store without waiting for the background flush.
func FlushUses(a *Authenticator) { a.uses.Flush() }
