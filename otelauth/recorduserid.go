package otelauth

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenauth/tokenauth"
)

// RecordUserID is middleware that puts the authenticated user's ID on the
// request's current span as enduser.id, for a host that wants to find a
// user's requests in its traces. Mount it inside Require or Optional,
// which put the token in the context:
//
//	mux.Handle("/api/", auth.Require()(otelauth.RecordUserID(api)))
//
// It is opt-in because a user ID is personal data: spans then hold it,
// and the trace backend's retention and access rules apply to it. Metrics
// never do. Anonymous requests and requests without a recording span pass
// unchanged.
func RecordUserID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := tokenauth.FromContext(r.Context()); ok {
			if s := trace.SpanFromContext(r.Context()); s.IsRecording() {
				s.SetAttributes(attribute.String("enduser.id", tok.UserID))
			}
		}
		next.ServeHTTP(w, r)
	})
}
