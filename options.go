package tokenauth

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// Options configures an Authenticator. The zero value behaves as Django
// REST Framework: `Authorization: Token <key>`, tokens that never expire,
// SHA-256 digests, DRF's error bodies.
type Options struct {
	Prefix string // starts every token: 1 to 16 ASCII letters or digits; default "tka"
	Hasher Hasher // computes the digests stores keep; default SHA256
	// Keywords are the Authorization schemes accepted (any case); the
	// first is sent in WWW-Authenticate. Default []string{"Token"}.
	Keywords  []string
	RawHeader bool // also accept an Authorization header of the key alone
	// Cookie names a cookie read for the key when no header has one (an
	// unsafe cross-site request it authenticates gets 403 unless from
	// TrustedOrigins), QueryParam a query parameter read last: URLs get
	// logged, so use it only where no header can be sent.
	Cookie         string
	TrustedOrigins []string
	QueryParam     string
	// AcceptLegacyKeys accepts DRF's 40-hex keys, and AcceptUUIDKeys
	// canonical UUIDs, so that imported keys keep working.
	AcceptLegacyKeys bool
	AcceptUUIDKeys   bool
	// DefaultTTL is the absolute lifetime of a token issued without one;
	// IdleTimeout expires tokens unused that long. Zero means none.
	// IdleTimeout must exceed TouchInterval, how often at most a use is
	// recorded (LastUsedAt, the sliding expiry) in background batches:
	// default one minute, negative for never.
	DefaultTTL    time.Duration
	IdleTimeout   time.Duration
	TouchInterval time.Duration
	// UserLoader loads the token's user per request (UserFromContext);
	// ErrUserInactive or ErrNotFound refuses it (401), others are 503.
	UserLoader   func(ctx context.Context, userID string) (any, error)
	ErrorHandler ErrorHandler // renders failures; default DRFErrorHandler
	// TrustedProxies are the proxies whose X-Forwarded-For is believed:
	// the client is its rightmost address not among them. Default none.
	TrustedProxies []netip.Prefix
	// RateCounter returns ok for at most limit calls per key (a token ID)
	// in a window from the key's first call, else the wait until it ends;
	// an error is an outage (503). Default: a count per process (up to
	// 100,000 tokens at once); redisstore offers one replicas share.
	RateCounter func(ctx context.Context, key string, limit int, window time.Duration) (retryAfter time.Duration, ok bool, err error)
	// StoreTimeout bounds each store, UserLoader and RateCounter call (then
	// 503), negative for none; RetryAfter is sent with 503s. Default 5s each.
	StoreTimeout time.Duration
	RetryAfter   time.Duration
	// OnCheck is told, on the request's goroutine, of each Check or Verify
	// not reusing an outer Require's: its time and reason, "" on success or
	// "missing", "malformed", "unknown" (never issued, or revoked),
	// "expired", "not_yet_valid", "inactive_user", "insufficient_scope",
	// "cross_origin", "address_not_allowed", "rate_limited", "store_failure".
	OnCheck func(ctx context.Context, reason string, took time.Duration)
	// OnStoreCall is told of each Store and UserLoader call: "find",
	// "create", "list", "touch", "expire", "delete", "delete_user" or
	// "load_user", its time and error (ErrNotFound, ErrExists: no failure).
	OnStoreCall func(ctx context.Context, op string, took time.Duration, err error)
	// Logger receives store failures (never keys or request data), at
	// most one a second. Default slog.Default().
	Logger *slog.Logger
	Now    func() time.Time // the clock, for tests; default time.Now
}

// defaultStoreTimeout is long enough for a loaded database and short
// enough that a client still gets an answer.
const defaultStoreTimeout = 5 * time.Second
