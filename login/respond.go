package login

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// fieldErrors is DRF's validation error body, fields in declaration order.
type fieldErrors struct {
	Username []string `json:"username,omitempty"`
	Password []string `json:"password,omitempty"`
	NonField []string `json:"non_field_errors,omitempty"`
}

var badCredentials = &fieldErrors{NonField: []string{"Unable to log in with provided credentials."}}

// writeThrottled answers 429 as Django REST Framework's Throttled
// exception does.
func writeThrottled(w http.ResponseWriter, wait time.Duration) {
	secs := max(1, int64((wait+time.Second-1)/time.Second))
	n := strconv.FormatInt(secs, 10)
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	w.Header().Set("Retry-After", n)
	writeDetail(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+n+unit)
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, &struct {
		Detail string `json:"detail"`
	}{detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // only this package's types, which always encode
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
