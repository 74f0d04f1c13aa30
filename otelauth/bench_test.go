package otelauth_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth/otelauth"
)

// BenchmarkOnCheck is the cost a check pays for its metric, and for its
// span when the request is traced: SDK providers with a reader that is
// never collected and no span processor, as bench's -otel modes run.
func BenchmarkOnCheck(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	tel, err := otelauth.New(otelauth.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		b.Fatal(err)
	}
	traced, _ := tp.Tracer("bench").Start(context.Background(), "request")
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{
		{"untraced", context.Background()},
		{"sampled", traced},
		// A traceparent whose caller did not sample: the span is dropped.
		{"unsampled", trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
		}))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tel.OnCheck(c.ctx, "", 3*time.Microsecond)
				}
			})
		})
	}
}
