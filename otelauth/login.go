package otelauth

import (
	"context"
	"time"
)

// loginOutcomes is login.Options.OnLogin's closed set, the last standing
// for any other.
var loginOutcomes = [...]string{"success", "bad_credentials", "throttled", "invalid_request", "too_many_tokens", "unavailable", other}

var loginRecords = func() (o [len(loginOutcomes)]outcome) {
	for i, r := range loginOutcomes {
		if r == "success" {
			o[i] = newOutcome("", keyLoginResult.String("success"))
		} else {
			o[i] = newOutcome("", keyLoginResult.String("failure"), keyErrorType.String(r))
		}
	}
	return o
}()

// OnLogin records one login attempt; set it as login.Options.OnLogin. It
// records tokenauth.login.duration and no span: the request's server span
// is the login, and its store call gets a span of its own.
func (t *Telemetry) OnLogin(ctx context.Context, outcome string, took time.Duration) {
	t.loginDuration.Record(ctx, took.Seconds(), loginRecords[index(loginOutcomes[:], outcome)].record...)
}
