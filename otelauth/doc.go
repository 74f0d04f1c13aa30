// Package otelauth turns tokenauth's hooks into OpenTelemetry metrics and spans.
package otelauth
