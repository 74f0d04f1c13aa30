package tokenauth

import (
	"context"
	"errors"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/keyformat"
)

// Revoke deletes the token with the given ID: ErrNotFound if there is
// none.
func (a *Authenticator) Revoke(ctx context.Context, id string) error {
	sctx, release := a.bound(ctx)
	defer release()
	if err := a.store.Delete(sctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return a.storeError(ctx, "delete", err)
	}
	return nil
}

// RevokeKey deletes the token whose plaintext is key, whatever its state
// (a leaked key), and returns its record, or ErrNotFound, or
// ErrInvalidToken for a key this Authenticator refuses.
func (a *Authenticator) RevokeKey(ctx context.Context, key string) (*Token, error) {
	if !a.wellFormed(key) {
		return nil, ErrInvalidToken
	}
	sctx, release := a.bound(ctx)
	t, err := a.store.Find(sctx, a.opts.Hasher.Digest(key))
	release()
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, a.storeError(ctx, "find", err)
	}
	if err := a.Revoke(ctx, t.ID); err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeAll deletes every token of userID, personal ones too, and returns
// how many. It is final: no token authorised before it survives, even one
// a login in flight, Rotate or Issue stores later (IssueOptions.CreatedAt);
// it compares replicas' clocks, so keep them synchronised.
func (a *Authenticator) RevokeAll(ctx context.Context, userID string) (int, error) {
	return a.deleteUser(ctx, userID)
}

// RevokeOthers deletes every token of keep's user but keep, as finally as
// RevokeAll, and returns how many.
func (a *Authenticator) RevokeOthers(ctx context.Context, keep *Token) (int, error) {
	if keep == nil {
		return 0, ErrInvalidToken
	}
	return a.deleteUser(ctx, keep.UserID, keep.ID)
}

// RevokeSessions deletes userID's sessions (tokens not Personal) but keep,
// if not nil, as finally as RevokeAll, and returns how many: for a password
// change. A personal token issued meanwhile may be deleted too.
func (a *Authenticator) RevokeSessions(ctx context.Context, userID string, keep *Token) (int, error) {
	var ids []string
	if keep != nil {
		if keep.UserID != userID {
			return 0, errors.New("tokenauth: RevokeSessions: keep is another user's token")
		}
		ids = append(ids, keep.ID)
	}
	tokens, err := a.List(ctx, userID)
	if err != nil {
		return 0, err
	}
	for _, t := range tokens {
		if t.Personal {
			ids = append(ids, t.ID)
		}
	}
	return a.deleteUser(ctx, userID, ids...)
}

func (a *Authenticator) deleteUser(ctx context.Context, userID string, keep ...string) (int, error) {
	sctx, release := a.bound(ctx)
	defer release()
	n, err := a.store.DeleteUser(sctx, userID, a.now(), keep...)
	if err != nil {
		return 0, a.storeError(ctx, "delete user", err)
	}
	return n, nil
}

// List returns userID's tokens, oldest first.
func (a *Authenticator) List(ctx context.Context, userID string) ([]*Token, error) {
	sctx, release := a.bound(ctx)
	defer release()
	tokens, err := a.store.List(sctx, userID)
	if err != nil {
		return nil, a.storeError(ctx, "list", err)
	}
	return tokens, nil
}

// Rotate replaces old with a new token of the same user, kind, name, scopes,
// constraints and deadline (an idle-expiring one gets now+IdleTimeout). With
// a positive grace old works until grace has passed, else it is revoked at
// once. On failure old is left as it was; racing RevokeAll, neither stays
// usable. It returns ErrInvalidToken for a revoked old, ErrExpired for an
// expired one.
func (a *Authenticator) Rotate(ctx context.Context, old *Token, grace time.Duration) (string, *Token, error) {
	if old == nil {
		return "", nil, ErrInvalidToken
	}
	now := a.now()
	if old.Expired(now) {
		return "", nil, ErrExpired
	}
	deadline := old.MaxExpiresAt
	if deadline.IsZero() && a.opts.IdleTimeout <= 0 {
		// A record without MaxExpiresAt (an imported one): its expiry is
		// its deadline.
		deadline = old.ExpiresAt
	}
	key, err := keyformat.Generate(a.opts.Prefix, a.sum)
	if err != nil {
		return "", nil, err
	}
	t, err := a.create(ctx, key, old.UserID, IssueOptions{
		Name: old.Name, Scopes: old.Scopes, Personal: old.Personal, NotBefore: old.NotBefore,
		AllowedIPs: old.AllowedIPs, DeniedIPs: old.DeniedIPs, RateLimit: old.RateLimit, RateWindow: old.RateWindow,
		CreatedFrom: old.CreatedFrom, UserAgent: old.UserAgent,
	}, deadline)
	if err != nil {
		return "", nil, err
	}
	if grace > 0 {
		err = a.expire(ctx, old.ID, now.Add(grace))
	} else {
		err = a.Revoke(ctx, old.ID)
	}
	if err != nil {
		// Undo, even if the caller has gone: it keeps the old token (or
		// none, if it was revoked). Should the undo fail, the new token's
		// key was never handed out.
		undo, release := a.bound(context.WithoutCancel(ctx))
		_ = a.store.Delete(undo, t.ID)
		release()
		if errors.Is(err, ErrNotFound) {
			return "", nil, ErrInvalidToken
		}
		return "", nil, err
	}
	return key, t, nil
}

// expire brings the expiry of the token with the given ID forward to at.
func (a *Authenticator) expire(ctx context.Context, id string, at time.Time) error {
	sctx, release := a.bound(ctx)
	defer release()
	if err := a.store.Expire(sctx, id, at); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return a.storeError(ctx, "expire", err)
	}
	return nil
}
