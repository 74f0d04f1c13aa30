package tokenauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// ErrorHandler renders an authentication failure. err is one of this
// package's errors (see Classify); an ErrorHandler must not write err's
// text to the client, since a wrapped store error may carry internals.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// DRFErrorHandler renders failures as Django REST Framework does: the status
// from Classify, a JSON body {"detail": "..."} and, on 401,
// `WWW-Authenticate: <keyword>`.
func DRFErrorHandler(keyword string) ErrorHandler {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, detail := Classify(err)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", keyword)
		}
		WriteDetail(w, status, detail)
	}
}

// BearerErrorHandler renders failures as RFC 6750 prescribes for Bearer
// tokens: a WWW-Authenticate challenge with realm and error code, 400 for a
// malformed header (invalid_request), 401 for a bad token (invalid_token),
// 403 for a missing scope (insufficient_scope, listing the scope), and a
// JSON body {"error": ..., "error_description": ...}. Use it with
// Options.Keywords set to []string{"Bearer"}.
func BearerErrorHandler(realm string) ErrorHandler {
	base := `Bearer realm="` + quoteEscape(realm) + `"`
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, detail := Classify(err)
		code := ""
		switch {
		case errors.Is(err, ErrNoCredentials):
			// RFC 6750 §3.1: no error code when no credentials were sent.
		case errors.Is(err, ErrHeaderNoKey), errors.Is(err, ErrHeaderSpaces), errors.Is(err, ErrHeaderInvalidChars):
			status, code = http.StatusBadRequest, "invalid_request"
		case status == http.StatusUnauthorized:
			code = "invalid_token"
		case status == http.StatusForbidden:
			code = "insufficient_scope"
		}
		if status != http.StatusServiceUnavailable {
			challenge := base
			if code != "" {
				challenge += `, error="` + code + `", error_description="` + quoteEscape(detail) + `"`
			}
			var se *ScopeError
			if errors.As(err, &se) && len(se.Required) > 0 {
				challenge += `, scope="` + quoteEscape(strings.Join(se.Required, " ")) + `"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
		}
		if code == "" {
			WriteDetail(w, status, detail)
			return
		}
		WriteJSON(w, status, struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}{code, detail})
	}
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// WriteDetail writes {"detail": detail} with the given status, the shape of
// every Django REST Framework error.
func WriteDetail(w http.ResponseWriter, status int, detail string) {
	WriteJSON(w, status, struct {
		Detail string `json:"detail"`
	}{detail})
}

// WriteJSON writes v as a compact JSON body with the given status. It is
// exported for adapters and handlers that answer in the same format.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"detail":"A server error occurred."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
