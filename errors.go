package tokenauth

import (
	"errors"
	"net/http"
)

// Errors returned by Authenticate and friends. Check them with errors.Is:
// errors from a Store are wrapped, and ErrExpired also matches
// ErrInvalidToken.
var (
	// ErrNoCredentials: the request carries no credentials for this
	// authenticator (no header, another scheme, no cookie or query value).
	ErrNoCredentials = errors.New("tokenauth: authentication credentials were not provided")
	// ErrHeaderNoKey: the Authorization header holds the keyword alone.
	ErrHeaderNoKey = errors.New("tokenauth: invalid token header: no credentials provided")
	// ErrHeaderSpaces: the key in the Authorization header contains spaces.
	ErrHeaderSpaces = errors.New("tokenauth: invalid token header: token string should not contain spaces")
	// ErrHeaderInvalidChars: the key is not valid UTF-8 or holds control
	// characters.
	ErrHeaderInvalidChars = errors.New("tokenauth: invalid token header: token string should not contain invalid characters")
	// ErrInvalidToken: the key is malformed, unknown or revoked.
	ErrInvalidToken = errors.New("tokenauth: invalid token")
	// ErrExpired: the token was issued but its expiry has passed. It wraps
	// ErrInvalidToken.
	ErrExpired = &wrapErr{msg: "tokenauth: token expired", base: ErrInvalidToken}
	// ErrUserInactive: the UserLoader refused the token's user. A
	// UserLoader returns it (or ErrNotFound) to refuse a user.
	ErrUserInactive = errors.New("tokenauth: user inactive or deleted")
	// ErrInsufficientScope: the token lacks a scope the route requires.
	ErrInsufficientScope = errors.New("tokenauth: insufficient scope")
	// ErrUnavailable: the Store or UserLoader failed; the request may
	// succeed later. The underlying error is wrapped for logs and is never
	// shown to clients.
	ErrUnavailable = errors.New("tokenauth: token store unavailable")
	// ErrNotFound is what a Store returns for a token it does not hold.
	ErrNotFound = errors.New("tokenauth: token not found")
	// ErrExists is what Store.Create returns when a token with the same ID
	// or digest is already stored.
	ErrExists = errors.New("tokenauth: token already exists")
	// ErrInvalidOptions: New or a constructor was given an invalid
	// configuration.
	ErrInvalidOptions = errors.New("tokenauth: invalid options")
)

type wrapErr struct {
	msg  string
	base error
}

func (e *wrapErr) Error() string { return e.msg }
func (e *wrapErr) Unwrap() error { return e.base }

// unavailableError wraps a store or loader failure so that errors.Is
// matches both ErrUnavailable and the cause, while Error() stays generic
// enough to log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string {
	return "tokenauth: token store unavailable: " + e.cause.Error()
}
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

func unavailable(err error) error { return &unavailableError{cause: err} }

// Client-facing detail messages. The first seven are Django REST
// Framework's own words, so clients written against DRF keep working.
const (
	// DetailNotProvided answers a request without credentials.
	DetailNotProvided = "Authentication credentials were not provided."
	// DetailNoKey answers an Authorization header with the keyword alone.
	DetailNoKey = "Invalid token header. No credentials provided."
	// DetailSpaces answers a key that contains spaces.
	DetailSpaces = "Invalid token header. Token string should not contain spaces."
	// DetailInvalidChars answers a key that is not valid UTF-8.
	DetailInvalidChars = "Invalid token header. Token string should not contain invalid characters."
	// DetailInvalidToken answers an unknown, revoked or malformed key.
	DetailInvalidToken = "Invalid token."
	// DetailUserInactive answers a token whose user the UserLoader refused.
	DetailUserInactive = "User inactive or deleted."
	// DetailPermissionDenied answers a token that lacks a required scope.
	DetailPermissionDenied = "You do not have permission to perform this action."
	// DetailExpired answers a token whose expiry has passed.
	DetailExpired = "Token has expired."
	// DetailUnavailable answers a request during a store outage (503).
	DetailUnavailable = "Authentication service temporarily unavailable, try again later."
)

// Classify maps an error from Authenticate to the HTTP status and the
// client-facing detail message the default ErrorHandler sends. The detail
// never contains internal error text. Unknown errors are treated as
// outages (503): an error that is not understood must not make a client
// drop a good token.
func Classify(err error) (status int, detail string) {
	switch {
	case errors.Is(err, ErrNoCredentials):
		return http.StatusUnauthorized, DetailNotProvided
	case errors.Is(err, ErrHeaderNoKey):
		return http.StatusUnauthorized, DetailNoKey
	case errors.Is(err, ErrHeaderSpaces):
		return http.StatusUnauthorized, DetailSpaces
	case errors.Is(err, ErrHeaderInvalidChars):
		return http.StatusUnauthorized, DetailInvalidChars
	case errors.Is(err, ErrExpired):
		return http.StatusUnauthorized, DetailExpired
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized, DetailInvalidToken
	case errors.Is(err, ErrUserInactive):
		return http.StatusUnauthorized, DetailUserInactive
	case errors.Is(err, ErrInsufficientScope):
		return http.StatusForbidden, DetailPermissionDenied
	default:
		return http.StatusServiceUnavailable, DetailUnavailable
	}
}
