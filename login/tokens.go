package login

import (
	"context"
	"errors"
	"slices"

	"github.com/go-tokenauth/tokenauth"
)

// loginTokens returns userID's unexpired login tokens named name, oldest
// first, as Store.List gives them.
func (h *Handler) loginTokens(ctx context.Context, userID, name string) ([]*tokenauth.Token, error) {
	ctx, cancel := h.withTimeout(ctx)
	defer cancel()
	all, err := h.auth.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := h.now()
	live := all[:0:0]
	for _, t := range all {
		if t.Name == name && !t.Expired(now) {
			live = append(live, t)
		}
	}
	return live, nil
}

// trimTokens revokes the oldest login tokens of issued's user until at most
// MaxTokensPerUser remain, never issued itself. It runs after the new token
// is stored, so concurrent logins of one user settle on the newest tokens.
// A failure leaves the login a success: the bound is housekeeping, which
// the next login does again; the store's failure is logged by the
// Authenticator.
func (h *Handler) trimTokens(ctx context.Context, issued *tokenauth.Token) {
	live, err := h.loginTokens(ctx, issued.UserID, issued.Name)
	if err != nil {
		return
	}
	live = slices.DeleteFunc(live, func(t *tokenauth.Token) bool { return t.ID == issued.ID })
	for _, t := range live[:max(0, len(live)-(h.maxTokens-1))] {
		rctx, cancel := h.withTimeout(ctx)
		err := h.auth.Revoke(rctx, t.ID)
		cancel()
		if err != nil && !errors.Is(err, tokenauth.ErrNotFound) {
			return
		}
	}
}
