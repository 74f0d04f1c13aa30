package otelauth

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// The attribute keys. error.type is the semantic conventions' own.
const (
	keyAuthResult  = attribute.Key("tokenauth.authenticate.result")
	keyLoginResult = attribute.Key("tokenauth.login.result")
	keyStoreOp     = attribute.Key("tokenauth.store.operation")
	keyErrorType   = attribute.Key("error.type")
)

// checkReasons is tokenauth.Options.OnCheck's closed set: "" is success,
// the last stands for any other.
var checkReasons = [...]string{
	"", "missing", "malformed", "unknown", "expired", "not_yet_valid",
	"inactive_user", "insufficient_scope", "cross_origin",
	"address_not_allowed", "rate_limited", "store_failure", other,
}

// outcome is what one hook value records, built once: with a prebuilt
// attribute set a measurement neither sorts nor allocates attributes.
type outcome struct {
	record  []metric.RecordOption
	attrs   trace.SpanStartOption
	failure string // the span's error status; "" for none
}

func newOutcome(failure string, kvs ...attribute.KeyValue) outcome {
	set := attribute.NewSet(kvs...)
	return outcome{
		record:  []metric.RecordOption{metric.WithAttributeSet(set)},
		attrs:   trace.WithAttributes(kvs...),
		failure: failure,
	}
}

var checkOutcomes = func() (o [len(checkReasons)]outcome) {
	for i, r := range checkReasons {
		switch r {
		case "":
			o[i] = newOutcome("", keyAuthResult.String("success"))
		case "missing":
			// As ASP.NET Core's "none": no credentials is no failure,
			// the route may not need any.
			o[i] = newOutcome("", keyAuthResult.String("none"))
		case "store_failure":
			// The one reason that is the server's fault.
			o[i] = newOutcome(r, keyAuthResult.String("failure"), keyErrorType.String(r))
		default:
			o[i] = newOutcome("", keyAuthResult.String("failure"), keyErrorType.String(r))
		}
	}
	return o
}()

// index returns the position of s in set, or of the last entry (_OTHER).
// The sets are a dozen short strings; a loop beats a map here.
func index(set []string, s string) int {
	for i, v := range set[:len(set)-1] {
		if v == s {
			return i
		}
	}
	return len(set) - 1
}

// OnCheck records one authentication; set it as tokenauth.Options.OnCheck.
// It records tokenauth.authenticate.duration and, under a span, a
// tokenauth.authenticate span whose status is Error only for
// "store_failure": a refused token is the client's fault, not the
// server's.
func (t *Telemetry) OnCheck(ctx context.Context, reason string, took time.Duration) {
	o := &checkOutcomes[index(checkReasons[:], reason)]
	ctx = t.span(ctx, "tokenauth.authenticate", took, o.attrs, o.failure)
	t.authDuration.Record(ctx, took.Seconds(), o.record...)
}
