package login

import (
	"log/slog"
	"net/http"
	"time"
)

// Options configures a Handler. The zero value issues tokens named "login"
// that live as the Authenticator's DefaultTTL says, limits bodies to 64
// KiB, bounds each call to the checker and the store by 5 seconds, and
// throttles attempts with NewMemoryLimiter's defaults.
type Options struct {
	// TokenName is the Name of tokens issued at login. Default "login".
	TokenName string

	// Scopes are the scopes of tokens issued at login. Default none.
	Scopes []string

	// TTL is the lifetime of tokens issued at login; zero means the
	// Authenticator's DefaultTTL (and IdleTimeout).
	TTL time.Duration

	// MaxBodyBytes bounds the request body; a larger one gets 413.
	// Default 64 KiB.
	MaxBodyBytes int64

	// Limiter throttles login attempts. Default a MemoryLimiter with its
	// defaults, private to this handler; NoLimit turns throttling off.
	Limiter Limiter

	// ClientAddr returns the client address that attempts are counted by.
	// Default: the host part of r.RemoteAddr. Behind a reverse proxy every
	// client shares the proxy's address; see ForwardedFor.
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

	// MaxTokensPerUser, when positive, bounds how many unexpired login
	// tokens (tokens named TokenName) a user may hold. Tokens with other
	// names, made for scripts or devices, are neither counted nor revoked.
	// Under concurrent logins of one user the bound may be passed by a
	// token or two until the next login. Default 0: unlimited.
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

	// Logger receives checker and store failures (never passwords or
	// tokens), at most one ERROR line a second. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests; it is also the default limiter's.
	// Default time.Now.
	Now func() time.Time
}
