package otelauth

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// span records, after the fact, a span of name that ended now and lasted
// took, as a child of ctx's span, and returns the context that carries it
// so that the metric's exemplar points at it. Without a span in ctx it
// records none and returns ctx (see the package doc), nor under a span
// that is not sampled: the default sampler, ParentBased, would drop it
// after paying for it.
func (t *Telemetry) span(ctx context.Context, name string, took time.Duration, attrs trace.SpanStartOption, failure string) context.Context {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ctx
	}
	end := time.Now()
	ctx, s := t.tracer.Start(ctx, name, attrs, trace.WithTimestamp(end.Add(-took)))
	if failure != "" {
		// The reason, never the error's text, which may hold a host name
		// or a query.
		s.SetStatus(codes.Error, failure)
	}
	s.End(trace.WithTimestamp(end))
	return ctx
}
