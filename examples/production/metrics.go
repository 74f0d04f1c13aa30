package main

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-tokenauth/tokenauth/otelauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// telemetry is the service's metrics, served in Prometheus's format.
type telemetry struct {
	auth    *otelauth.Telemetry // the hooks: checks, store calls, logins
	handler http.Handler        // /metrics
	close   func() error
}

// newTelemetry exports tokenauth's metrics, the cache's, the revocation
// channel's (its mode on SQL stores: watchMode, nil on Redis) and Go's
// runtime metrics, on a registry of the app's own rather than
// Prometheus's global one.
func newTelemetry(cache *cachestore.Store, watchMode func() string) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// One instrumentation scope, otelauth's: its labels would only
	// repeat on every line.
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	close := func() error { return meters.Shutdown(context.Background()) }
	tel, err := otelauth.New(otelauth.Options{MeterProvider: meters})
	if err == nil {
		err = tel.ObserveCache(cache)
	}
	if err == nil && watchMode != nil {
		err = tel.ObserveWatchMode(watchMode)
	}
	if err != nil {
		close()
		return nil, err
	}
	return &telemetry{auth: tel, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), close: close}, nil
}
