package selfservice

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// tokenView is what a user is shown of a token: nothing secret, but for
// Token, the plaintext, in the answer to a create alone.
type tokenView struct {
	ID          string    `json:"id"`
	Token       string    `json:"token,omitempty"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Current     bool      `json:"current"`
	Scopes      []string  `json:"scopes"`
	CreatedAt   *string   `json:"created_at"`
	CreatedFrom *string   `json:"created_from"`
	UserAgent   *string   `json:"user_agent"`
	LastUsedAt  *string   `json:"last_used_at"`
	ExpiresAt   *string   `json:"expires_at"`
	NotBefore   *string   `json:"not_before"`
	AllowedIPs  []string  `json:"allowed_ips"`
	DeniedIPs   []string  `json:"denied_ips"`
	RateLimit   *rateView `json:"rate_limit"`
}

type rateView struct {
	Limit         int   `json:"limit"`
	WindowSeconds int64 `json:"window_seconds"`
}

func viewOf(t *tokenauth.Token) tokenView {
	v := tokenView{
		ID:          t.ID,
		Name:        t.Name,
		Kind:        "session",
		Scopes:      nonNil(t.Scopes),
		CreatedAt:   jsonTime(t.CreatedAt),
		CreatedFrom: nonEmpty(t.CreatedFrom),
		UserAgent:   nonEmpty(t.UserAgent),
		LastUsedAt:  jsonTime(t.LastUsedAt),
		ExpiresAt:   jsonTime(t.ExpiresAt),
		NotBefore:   jsonTime(t.NotBefore),
		AllowedIPs:  prefixStrings(t.AllowedIPs),
		DeniedIPs:   prefixStrings(t.DeniedIPs),
	}
	if t.Personal {
		v.Kind = "personal"
	}
	if t.RateLimit > 0 {
		v.RateLimit = &rateView{Limit: t.RateLimit, WindowSeconds: int64(t.RateWindow / time.Second)}
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonTime is t in RFC 3339, UTC, to the second; nil for the zero time.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"A server error occurred."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
