package tokenauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// ErrorHandler renders a failure of Check (see Classify). It must never
// write err's text: a wrapped store error may carry internals.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// Error renders err, from Check, with the ErrorHandler, setting Retry-After
// for outages and rate limits; adapters call it, so all answer alike.
func (a *Authenticator) Error(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	switch {
	case errors.Is(err, ErrUnavailable):
		h.Set("Retry-After", a.retryAfter)
	case errors.Is(err, ErrRateLimited):
		h.Set("Retry-After", strconv.FormatInt(waitSeconds(err), 10))
	}
	h.Set("X-Content-Type-Options", "nosniff")
	a.opts.ErrorHandler(w, r, err)
}

// DRFErrorHandler renders failures as Django REST Framework does: the
// status from Classify, {"detail": "..."}, and on 401 `WWW-Authenticate:
// <keyword>`.
func DRFErrorHandler(keyword string) ErrorHandler {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, detail := Classify(err)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", keyword)
		}
		writeDetail(w, status, detail)
	}
}

// BearerErrorHandler renders failures per RFC 6750, for Keywords
// []string{"Bearer"}: a challenge with realm and error code (400
// invalid_request, 401 invalid_token, 403 insufficient_scope and scopes),
// and {"error": ..., "error_description": ...}.
func BearerErrorHandler(realm string) ErrorHandler {
	base := `Bearer realm="` + quoteEscape(realm) + `"`
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, detail := Classify(err)
		code := ""
		switch {
		case errors.Is(err, ErrNoCredentials):
			// RFC 6750 §3.1: no error code when no credentials were sent.
		case errors.Is(err, ErrMalformedHeader):
			status, code = http.StatusBadRequest, "invalid_request"
		case status == http.StatusUnauthorized:
			code = "invalid_token"
		case errors.Is(err, ErrInsufficientScope):
			code = "insufficient_scope"
		}
		if status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests {
			challenge := base
			if code != "" {
				challenge += `, error="` + code + `", error_description="` + quoteEscape(detail) + `"`
			}
			if scopes := requiredScopes(err); scopes != "" {
				challenge += `, scope="` + quoteEscape(scopes) + `"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
		}
		if code == "" {
			writeDetail(w, status, detail)
			return
		}
		writeJSON(w, status, struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}{code, detail})
	}
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// writeDetail writes {"detail": detail} with the given status, the shape of
// every Django REST Framework error.
func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, struct {
		Detail string `json:"detail"`
	}{detail})
}

// writeJSON writes v as a compact JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"detail":"A server error occurred."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
