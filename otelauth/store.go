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

var storeOutcomes [len(storeOps)][len(storeErrors)]outcome

func init() {
	for i, op := range storeOps {
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

// OnStoreCall records one store or UserLoader call in
// tokenauth.store.duration; set it as tokenauth.Options.OnStoreCall.
//
// Store calls are measured, not traced. The Authenticator's store is
// usually a cache, whose hits are no calls worth a span, and the driver's
// own instrumentation (otelsql, redisotel) traces the queries behind a
// miss. A span per call, cache hits included, cost about 3 µs of CPU a
// request, over a tenth of the cached path's req/s (e2e/bench/README.md).
func (t *Telemetry) OnStoreCall(ctx context.Context, op string, took time.Duration, err error) {
	o := &storeOutcomes[index(storeOps[:], op)][storeErrorType(err)]
	t.storeDuration.Record(ctx, took.Seconds(), o.record...)
}
