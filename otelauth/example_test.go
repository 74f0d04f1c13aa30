package otelauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/otelauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

func Example() {
	// A ManualReader stands in for the host's exporter (Prometheus, OTLP).
	reader := sdkmetric.NewManualReader()
	tel, err := otelauth.New(otelauth.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		panic(err)
	}
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{OnCheck: tel.OnCheck, OnStoreCall: tel.OnStoreCall})
	if err != nil {
		panic(err)
	}
	defer auth.Close()
	key, _, _ := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{})

	api := auth.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, header := range []string{"Token " + key, ""} {
		r := httptest.NewRequest(http.MethodGet, "/api/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		api.ServeHTTP(httptest.NewRecorder(), r)
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
			fmt.Printf("%s (%s) %s: %d\n", m.Name, m.Unit, attrs(dp.Attributes), dp.Count)
		}
	}
	// Unordered output:
	// tokenauth.store.duration (s) tokenauth.store.operation=create: 1
	// tokenauth.store.duration (s) tokenauth.store.operation=find: 1
	// tokenauth.authenticate.duration (s) tokenauth.authenticate.result=success: 1
	// tokenauth.authenticate.duration (s) tokenauth.authenticate.result=none: 1
}
