package otelauth

import (
	"errors"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// scope names the meter and the tracer, as OpenTelemetry asks of an
// instrumentation library: its import path.
const scope = "github.com/go-tokenauth/tokenauth/otelauth"

// other stands for any value outside an attribute's closed set, as the
// semantic conventions' error.type does.
const other = "_OTHER"

// Options configures New. The zero value uses the global providers.
type Options struct {
	// MeterProvider makes the instruments. Default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes the spans. Default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

// Telemetry holds the instruments and the tracer. Its methods are the
// hooks of tokenauth.Options, login.Options and the stores; all are safe
// for concurrent use.
type Telemetry struct {
	tracer trace.Tracer
	meter  metric.Meter

	authDuration  metric.Float64Histogram
	loginDuration metric.Float64Histogram
	storeDuration metric.Float64Histogram

	// Guards the registration of the observable instruments' callbacks
	// and what they read.
	mu     sync.Mutex
	caches []*cachestore.Store
	modes  []func() string
}

// New returns a Telemetry that records with opts' providers. It fails
// only when a provider refuses an instrument.
func New(opts Options) (*Telemetry, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &Telemetry{tracer: tp.Tracer(scope), meter: mp.Meter(scope)}
	var errs [3]error
	t.authDuration, errs[0] = t.meter.Float64Histogram("tokenauth.authenticate.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of token authentications: the header, the cache or store, the user, the policy."),
		metric.WithExplicitBucketBoundaries(fastBuckets...))
	t.storeDuration, errs[1] = t.meter.Float64Histogram("tokenauth.store.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of calls to the token store and the UserLoader."),
		metric.WithExplicitBucketBoundaries(fastBuckets...))
	t.loginDuration, errs[2] = t.meter.Float64Histogram("tokenauth.login.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of login attempts, password check included."),
		metric.WithExplicitBucketBoundaries(slowBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return t, nil
}

// fastBuckets suit a check answered from a cache in microseconds as well
// as a store call of milliseconds; the SDK's default buckets, made for
// milliseconds, would put every cached check in the first one.
var fastBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// slowBuckets suit a login, which a password hash makes take tens to
// hundreds of milliseconds: the semantic conventions' HTTP buckets.
var slowBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
