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
	// Prefix starts every issued token ("tka_…") so that secret scanners
	// find leaked ones: 1 to 16 ASCII letters or digits. Default "tka".
	Prefix string

	// Hasher computes the digests stores keep. Default SHA256. NewHMAC's
	// keyed Hasher also keys the checksum, so that forged keys are
	// refused before any store is asked.
	Hasher Hasher

	// Keywords are the Authorization schemes accepted (any case); the
	// first is sent in WWW-Authenticate. Default []string{"Token"}.
	Keywords []string

	// RawHeader also accepts an Authorization header holding the key
	// alone.
	RawHeader bool

	// Cookie names a cookie read for the key when no Authorization header
	// has one. Browsers send cookies by themselves, so an unsafe method
	// authenticated by it from another site gets 403 unless its origin is
	// in TrustedOrigins.
	Cookie         string
	TrustedOrigins []string

	// QueryParam names a query parameter read for the key last. URLs end
	// up in logs and history: use it only where no header can be sent.
	QueryParam string

	// AcceptLegacyKeys accepts DRF's 40-hex keys, and AcceptUUIDKeys
	// canonical UUIDs, so that imported keys keep working.
	AcceptLegacyKeys bool
	AcceptUUIDKeys   bool

	// DefaultTTL is the lifetime of a token issued without one, an
	// absolute deadline; zero means none.
	DefaultTTL time.Duration

	// IdleTimeout expires tokens unused for that long: each recorded use
	// moves ExpiresAt to now+IdleTimeout, never past MaxExpiresAt. It must
	// exceed TouchInterval.
	IdleTimeout time.Duration

	// TouchInterval is how often at most a use is recorded (LastUsedAt,
	// the sliding expiry), in background batches. Default one minute;
	// negative turns it off.
	TouchInterval time.Duration

	// UserLoader loads the token's user on each request (UserFromContext).
	// ErrUserInactive or ErrNotFound refuses the user (401); any other
	// error is an outage (503).
	UserLoader func(ctx context.Context, userID string) (any, error)

	// ErrorHandler renders failures. Default DRFErrorHandler.
	ErrorHandler ErrorHandler

	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed: from one of them, the client is the rightmost address
	// that is not one. Address lists, ClientAddr and the login throttle
	// use this rule. Default none: the peer's address.
	TrustedProxies []netip.Prefix

	// RateCounter counts the uses of tokens with a RateLimit: it returns
	// ok for at most limit calls per key (a token ID) in a window that
	// starts with the key's first call and lasts window, and else how
	// long until it ends. An error is an outage (503). Default: a count
	// in this process alone (for up to 100,000 tokens at once), so each
	// replica allows the limit; redisstore offers one they share.
	RateCounter func(ctx context.Context, key string, limit int, window time.Duration) (retryAfter time.Duration, ok bool, err error)

	// StoreTimeout bounds each store, UserLoader and RateCounter call
	// (then 503). Default 5 seconds; negative: none.
	StoreTimeout time.Duration

	// RetryAfter is sent with 503s. Default 5 seconds.
	RetryAfter time.Duration

	// OnCheck is told of each authentication (Check, Verify): its time
	// and reason, "" on success or one of "missing", "malformed",
	// "unknown" (never issued, or revoked), "expired", "not_yet_valid",
	// "inactive_user", "insufficient_scope", "cross_origin",
	// "address_not_allowed", "rate_limited" and "store_failure" (503). A
	// check reusing an outer Require's is not told again. It runs on the
	// request's goroutine; keep user IDs out of metrics.
	OnCheck func(ctx context.Context, reason string, took time.Duration)

	// OnStoreCall is told of each Store and UserLoader call: "find",
	// "create", "list", "touch", "expire", "delete", "delete_user" or
	// "load_user", its time and error (ErrNotFound and ErrExists are no
	// failures).
	OnStoreCall func(ctx context.Context, op string, took time.Duration, err error)

	// Logger receives store failures (never keys or request data), at
	// most one error a second. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// defaultStoreTimeout is long enough for a loaded database and short
// enough that a client still gets an answer.
const defaultStoreTimeout = 5 * time.Second
