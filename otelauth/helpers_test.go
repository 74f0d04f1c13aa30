package otelauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth/otelauth"
)

// harness is a Telemetry on SDK providers whose output the test reads.
type harness struct {
	tel    *otelauth.Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	h.tracer = tp.Tracer("test")
	var err error
	h.tel, err = otelauth.New(otelauth.Options{MeterProvider: mp, TracerProvider: tp})
	require.NoError(t, err)
	return h
}

// serve runs r through next inside a server span, as otelhttp would.
func (h *harness) serve(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	ctx, span := h.tracer.Start(r.Context(), "GET /api/", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	w := httptest.NewRecorder()
	next.ServeHTTP(w, r.WithContext(ctx))
	return w
}

// metrics collects and returns the instruments by name.
func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, "github.com/go-tokenauth/tokenauth/otelauth", sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs renders an attribute set as "k=v,k=v", sorted, for comparison.
func attrs(s attribute.Set) string {
	var out string
	for _, kv := range s.ToSlice() {
		if out != "" {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.String()
	}
	return out
}

// histogramCounts maps each data point's attributes to its count.
func histogramCounts(t *testing.T, m metricdata.Metrics) map[string]uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T, want a float64 histogram", m.Name, m.Data)
	out := map[string]uint64{}
	for _, dp := range h.DataPoints {
		out[attrs(dp.Attributes)] = dp.Count
	}
	return out
}

// int64Points maps each data point's attributes to its value.
func int64Points(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	var dps []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	default:
		t.Fatalf("%s is a %T, want int64 points", m.Name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range dps {
		out[attrs(dp.Attributes)] = dp.Value
	}
	return out
}

// everyValue lists every attribute value of every metric and span, to
// show that no user ID or key is among them.
func (h *harness) everyValue(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range h.metrics(t) {
		switch d := m.Data.(type) {
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					out = append(out, kv.Value.String())
				}
			}
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					out = append(out, kv.Value.String())
				}
			}
		case metricdata.Gauge[int64]:
			for _, dp := range d.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					out = append(out, kv.Value.String())
				}
			}
		}
	}
	for _, s := range h.spans.Ended() {
		out = append(out, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			out = append(out, kv.Value.String())
		}
	}
	return out
}

// spanAttrs renders a span's attributes as attrs does.
func spanAttrs(s sdktrace.ReadOnlySpan) string {
	return attrs(attribute.NewSet(s.Attributes()...))
}

// attrsOf renders every data point's attributes of a histogram.
func attrsOf(t *testing.T, m metricdata.Metrics) string {
	t.Helper()
	var out string
	for k := range histogramCounts(t, m) {
		out += k + ";"
	}
	return out
}
