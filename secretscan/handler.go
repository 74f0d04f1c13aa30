package secretscan

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// DefaultKeysURL is where GitHub publishes the keys that sign reports.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Handler receives GitHub's secret scanning reports and revokes the
// tokens they name. Create it with New; it is safe for concurrent use.
type Handler struct {
	auth    *tokenauth.Authenticator
	opts    Options
	keys    *keyList
	revoked *revokedSet
}

// Options configures a Handler. The zero value is ready for GitHub.
type Options struct {
	// KeysURL is where the public keys that sign reports are listed.
	// Default DefaultKeysURL; tests point it at a list of their own.
	KeysURL string

	// HTTPClient fetches the key list. Default: one that waits 10 seconds
	// at most. The list is public; conditional requests, which the
	// Handler makes, do not count against GitHub's rate limit, so no
	// GitHub token is needed.
	HTTPClient *http.Client

	// OnLeak, when set, is called for each token a report revoked, so
	// that its owner can be told where it leaked. It runs before GitHub
	// gets its answer, within GitHub's 30 seconds, and for several tokens
	// at once: queue slow work (an email) rather than doing it here. It
	// is not called again for a token reported again.
	OnLeak func(ctx context.Context, l Leak)

	// MaxBodyBytes bounds a report; a larger one is refused (413) and
	// nothing in it is revoked. Default 5 MiB, over 15,000 matches.
	MaxBodyBytes int64

	// Logger receives a line per revoked token (its ID and where it was
	// found, never the token) and failures to fetch GitHub's keys.
	// Default slog.Default().
	Logger *slog.Logger
}

// New returns a Handler that revokes through auth. It returns an error
// wrapping tokenauth.ErrInvalidOptions when opts are invalid.
func New(auth *tokenauth.Authenticator, opts Options) (*Handler, error) {
	if auth == nil {
		return nil, fmt.Errorf("%w: secretscan: Authenticator is nil", tokenauth.ErrInvalidOptions)
	}
	opts.KeysURL = cmp.Or(opts.KeysURL, DefaultKeysURL)
	if u, err := url.Parse(opts.KeysURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: secretscan: KeysURL must be an absolute http or https URL", tokenauth.ErrInvalidOptions)
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: secretscan: MaxBodyBytes must not be negative", tokenauth.ErrInvalidOptions)
	}
	opts.MaxBodyBytes = cmp.Or(opts.MaxBodyBytes, 5<<20)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{
		auth:    auth,
		opts:    opts,
		keys:    &keyList{url: opts.KeysURL, client: opts.HTTPClient, log: opts.Logger, now: time.Now},
		revoked: &revokedSet{at: make(map[[sha256.Size]byte]time.Time), now: time.Now},
	}, nil
}

var errSignature = errors.New("secretscan: bad signature")

// ServeHTTP answers a report: 200 with GitHub's feedback array once every
// token in it is checked and, if live, revoked; 401 for a report whose
// signature does not verify with a key GitHub lists; 413 for one over
// MaxBodyBytes; 400 for a signed body that is no report; and 503 with
// Retry-After when the token store or GitHub's key list cannot be
// reached, so that GitHub sends the report again. A report refused for
// any reason revokes nothing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, message("use POST"))
		return
	}
	// The signature covers the raw body: it is checked on the bytes as
	// they came, before anything is parsed.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, message("report too large"))
			return
		}
		writeJSON(w, http.StatusBadRequest, message("cannot read the report"))
		return
	}
	if err := h.verify(r.Context(), r.Header, body); err != nil {
		if errors.Is(err, errSignature) || errors.Is(err, errUnknownKey) {
			writeJSON(w, http.StatusUnauthorized, message("signature does not verify"))
			return
		}
		unavailable(w)
		return
	}
	matches, err := parseReport(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, message("malformed report"))
		return
	}
	answer, err := h.revoke(r.Context(), matches)
	if err != nil {
		unavailable(w)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// verify checks the signature GitHub puts on a report: ECDSA P-256 over
// the SHA-256 of the raw body, base64 of ASN.1, with the listed key the
// Github-Public-Key-Identifier header names.
func (h *Handler) verify(ctx context.Context, header http.Header, body []byte) error {
	id := header.Get("Github-Public-Key-Identifier")
	sig, err := base64.StdEncoding.DecodeString(header.Get("Github-Public-Key-Signature"))
	if id == "" || err != nil || len(sig) == 0 {
		return errSignature
	}
	key, err := h.keys.key(ctx, id)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(key, digest[:], sig) {
		return errSignature
	}
	return nil
}

// unavailable asks GitHub to send the report again later.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	writeJSON(w, http.StatusServiceUnavailable, message("try again later"))
}

type message string

func (m message) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message string `json:"message"`
	}{string(m)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
