package introspection

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
)

// maxBodyBytes bounds a request body: a token and a hint take well under
// a kilobyte.
const maxBodyBytes = 8 << 10

// requestError is a request the endpoints refuse before any token is
// looked up, with its status and RFC 6749 §5.2 error code.
type requestError struct {
	status            int
	code, description string
}

func (e *requestError) Error() string { return "introspection: " + e.description }

var (
	errMethod      = &requestError{http.StatusMethodNotAllowed, "invalid_request", "The request must use POST."}
	errContentType = &requestError{http.StatusBadRequest, "invalid_request", "The body must be application/x-www-form-urlencoded."}
	errTooLarge    = &requestError{http.StatusRequestEntityTooLarge, "invalid_request", "The body is too large."}
	errForm        = &requestError{http.StatusBadRequest, "invalid_request", "The body cannot be parsed."}
	errNoToken     = &requestError{http.StatusBadRequest, "invalid_request", "The token parameter is missing."}
	errRepeated    = &requestError{http.StatusBadRequest, "invalid_request", "A parameter is repeated."}
)

// readToken reads the token parameter of a POST with a form body (RFC 7662
// §2.1, RFC 7009 §2.1). Parameters in the URL are ignored: a token there
// ends up in access logs. token_type_hint is ignored too, as both RFCs
// allow: tokenauth has one kind of token.
func readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", errMethod
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", errContentType
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", errTooLarge
		}
		return "", errForm
	}
	return tokenParam(r.PostForm)
}

// tokenParam returns the one non-empty token of form. RFC 6749 §3.2: a
// parameter must not be sent twice.
func tokenParam(form url.Values) (string, error) {
	if len(form["token"]) > 1 || len(form["token_type_hint"]) > 1 {
		return "", errRepeated
	}
	if form.Get("token") == "" {
		return "", errNoToken
	}
	return form.Get("token"), nil
}

// setHeaders sets what every answer carries: an answer about a token must
// never be cached by a proxy (RFC 7662 §4), nor sniffed by a browser.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
}

// fail answers err: a refused request with its own status, an
// unauthenticated caller with 401 and the challenges (RFC 6749 §5.2, RFC
// 7662 §2.3), and anything else as an outage: 503 with Retry-After, so
// that the caller never takes a good token for a bad one.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		if re == errMethod {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeError(w, re.status, re.code, re.description)
		return
	}
	if errors.Is(err, errUnauthenticated) {
		for _, c := range s.challenges {
			w.Header().Add("WWW-Authenticate", c)
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	w.Header().Set("Retry-After", s.retryAfter)
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token store is unavailable; try again later.")
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
