package otelauth

import (
	"context"
	"errors"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// storeOps is tokenauth.Options.OnStoreCall's closed set of operations,
// the last standing for any other.
var storeOps = [...]string{"find", "create", "list", "touch", "expire", "delete", "delete_user", "load_user", other}

// storeErrors is the closed set of a failed store call's error.type: ""
// for none. An error's text is no attribute: it may hold a host or a
// query, and has no bound.
var storeErrors = [...]string{"", "timeout", "canceled", other}

var (
	storeSpanNames [len(storeOps)]string
	storeOutcomes  [len(storeOps)][len(storeErrors)]outcome
)

func init() {
	for i, op := range storeOps {
		storeSpanNames[i] = "tokenauth.store " + op
		for j, e := range storeErrors {
			if e == "" {
				storeOutcomes[i][j] = newOutcome("", keyStoreOp.String(op))
			} else {
				storeOutcomes[i][j] = newOutcome(e, keyStoreOp.String(op), keyErrorType.String(e))
			}
		}
	}
}

// storeErrorType returns err's position in storeErrors. Not found, a
// duplicate and a refused user are answers, not failures, as the core
// counts them.
func storeErrorType(err error) int {
	switch {
	case err == nil, errors.Is(err, tokenauth.ErrNotFound), errors.Is(err, tokenauth.ErrExists), errors.Is(err, tokenauth.ErrUserInactive):
		return 0
	case errors.Is(err, context.DeadlineExceeded):
		return 1
	case errors.Is(err, context.Canceled):
		return 2
	}
	return 3
}

// OnStoreCall records one store or UserLoader call; set it as
// tokenauth.Options.OnStoreCall. It records tokenauth.store.duration and,
// under a span, a "tokenauth.store <op>" span, Error when the call
// failed.
func (t *Telemetry) OnStoreCall(ctx context.Context, op string, took time.Duration, err error) {
	i := index(storeOps[:], op)
	o := &storeOutcomes[i][storeErrorType(err)]
	ctx = t.span(ctx, storeSpanNames[i], took, o.attrs, o.failure)
	t.storeDuration.Record(ctx, took.Seconds(), o.record...)
}
