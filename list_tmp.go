package tokenauth

import "context"

// List returns userID's tokens. Store failures wrap ErrUnavailable.
//
// TEMP: a stand-in for the core's List, so that the login package builds
// against the exported API only; dropped when the reshaped core lands.
func (a *Authenticator) List(ctx context.Context, userID string) ([]*Token, error) {
	sctx := ctx
	if a.storeTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, a.storeTimeout)
		defer cancel()
	}
	ts, err := a.store.List(sctx, userID)
	if err != nil {
		return nil, a.storeErrorCtx(ctx, "list", err)
	}
	return ts, nil
}
