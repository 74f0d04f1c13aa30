package login

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Options configures a Handler. The zero value issues tokens named "login"
// that live as the Authenticator's DefaultTTL says, keeps at most 10 of
// them per user, limits bodies to 64 KiB, bounds each call to the checker
// and the store by 5 seconds, and throttles attempts with
// NewMemoryLimiter's defaults. A Grant from the checker overrides the
// token's name, scopes and lifetime per user.
type Options struct {
	// TokenName is the Name of tokens issued at login. Default "login".
	TokenName string

	// Scopes are the scopes of tokens issued at login. Default none.
	Scopes []string

	// TTL is the lifetime of tokens issued at login; zero means the
	// Authenticator's DefaultTTL (and IdleTimeout). Set one: a login token
	// that never expires outlives the device it was issued to.
	TTL time.Duration

	// MaxBodyBytes bounds the request body; a larger one gets 413.
	// Default 64 KiB.
	MaxBodyBytes int64

	// Limiter throttles login attempts. Default a MemoryLimiter with its
	// defaults, private to this handler; NoLimit turns throttling off.
	Limiter Limiter

	// ClientAddr returns the client address that attempts are counted by,
	// and that tokens record as CreatedFrom. Default: the Authenticator's
	// ClientAddr, by its Options.TrustedProxies (without them, behind a
	// reverse proxy, every client shares the proxy's address).
	ClientAddr func(*http.Request) string

	// Canonical maps a username to the key the Limiter counts it under.
	// It must map every spelling that the host's user lookup takes for one
	// account to one key, or each spelling gets a fresh budget: a database
	// that compares usernames case-, accent- or width-insensitively (as
	// MySQL's and MariaDB's default collations do, where "alice" =
	// "ÁLİCE") needs a Canonical that folds at least as much, such as
	// NFKD, then removing marks, then case folding, from
	// golang.org/x/text. Default FoldUsername, which folds case and width
	// but not precomposed accents. The CredentialChecker still receives
	// the username as sent.
	Canonical func(username string) string

	// DeviceKey, when set, turns on device cookies: a successful login
	// sets a cookie (HttpOnly, Secure, SameSite=Strict, 90 days) signed
	// with this key and bound to the canonical username, and an attempt
	// that presents one is from a device the account's owner has used, so
	// an attack on the account does not lock them out of it from any
	// address (see LimitKey.Device). Use at least 32 random bytes, kept
	// secret, the same on every replica and across restarts, and no other
	// key. Default none: only familiar addresses are trusted.
	DeviceKey []byte

	// MaxTokensPerUser bounds how many unexpired login tokens (tokens
	// with the login's token name) a user may hold, so that repeated
	// logins do not pile tokens up. Tokens with other names, made for
	// scripts or devices, are neither counted nor revoked. Under
	// concurrent logins of one user the bound may be passed by a token or
	// two until the next login. Default 10; negative: unlimited.
	MaxTokensPerUser int

	// RefuseOverMax chooses what a login over MaxTokensPerUser does: false
	// (the default) revokes the user's oldest login tokens to make room;
	// true refuses the login with 403 and leaves existing tokens alone.
	RefuseOverMax bool

	// Timeout bounds each call the handler makes to the CredentialChecker,
	// the Limiter and the token store; past it the client gets 503 with
	// Retry-After (429 from a MemoryLimiter). Default 5 seconds; negative:
	// no bound but the request's own context.
	Timeout time.Duration

	// OnLogin, when set, is told of every login attempt (every POST): how
	// long it took and its outcome, one of "success", "bad_credentials"
	// (also a login that raced a password change), "throttled",
	// "invalid_request" (a missing field, a bad body), "too_many_tokens"
	// (RefuseOverMax) and "unavailable" (503). Never the username: a
	// metric of usernames would be one of guesses. Package otelauth turns
	// it into OpenTelemetry metrics.
	OnLogin func(ctx context.Context, outcome string, took time.Duration)

	// Logger receives checker and store failures (never passwords or
	// tokens), at most one ERROR line a second. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests; it is also the default limiter's.
	// Default time.Now.
	Now func() time.Time
}
