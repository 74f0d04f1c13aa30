package secretscan

import "time"

// SetNow sets the clock of h's key list and memory; call it before h
// serves.
func SetNow(h *Handler, now func() time.Time) {
	h.keys.now = now
	h.revoked.now = now
}

// KeyFetches returns how many times h fetched GitHub's key list.
func KeyFetches(h *Handler) int {
	h.keys.mu.Lock()
	defer h.keys.mu.Unlock()
	return h.keys.fetches
}
