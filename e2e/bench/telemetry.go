package bench

import (
	"context"
	"net/http"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/otelauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// withTelemetry sets opts' hooks to otelauth as a host would, observing
// cache and watchMode when there are. The providers are the SDK's, minus
// the export, so that the run measures the module and not a collector:
// the metrics go to a ManualReader that is never collected (a periodic
// export, once a minute, would not show in req/s), the spans to a
// TracerProvider with its default sampler, ParentBased(AlwaysSample), and
// no span processor.
func (s *Server) withTelemetry(opts *tokenauth.Options, cache *cachestore.Store, watchMode func() string) error {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	s.onClose(func() error { return mp.Shutdown(context.Background()) })
	s.onClose(func() error { return tp.Shutdown(context.Background()) })
	tel, err := otelauth.New(otelauth.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		return err
	}
	opts.OnCheck, opts.OnStoreCall = tel.OnCheck, tel.OnStoreCall
	if cache != nil {
		if err := tel.ObserveCache(cache); err != nil {
			return err
		}
	}
	if watchMode != nil {
		if err := tel.ObserveWatchMode(watchMode); err != nil {
			return err
		}
	}
	return nil
}

// sampledParent is the span context a client's traceparent header with
// the sampled flag gives a request.
var sampledParent = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	TraceFlags: trace.FlagsSampled,
	Remote:     true,
})

// sampled puts sampledParent in every request's context, so that every
// check records its span (tokenauth.authenticate): the worst case, every
// request traced. It stands for the host's
// HTTP instrumentation at the least cost one can have, so that the A/B
// measures otelauth rather than otelhttp.
func sampled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(trace.ContextWithRemoteSpanContext(r.Context(), sampledParent)))
	})
}
