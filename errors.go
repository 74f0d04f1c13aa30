package tokenauth

import (
	"errors"
	"net/http"

	"github.com/go-tokenauth/tokenauth/internal/authheader"
)

// Errors returned by Check, Verify and friends. Check them with errors.Is:
// errors from a Store are wrapped, and ErrExpired also matches
// ErrInvalidToken.
var (
	// ErrNoCredentials: the request carries no credentials for this
	// authenticator (no header, another scheme, no cookie or query value).
	ErrNoCredentials = authheader.ErrNoCredentials
	// ErrMalformedHeader: the credentials cannot be read: the keyword
	// alone, a key with spaces or invalid characters, or a duplicated
	// cookie. Classify tells the cases apart in Django REST Framework's
	// words.
	ErrMalformedHeader = authheader.ErrMalformed
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
	// ErrUnavailable: the Store or UserLoader failed or timed out; the
	// request may succeed later. The cause is wrapped for logs and is
	// never shown to clients.
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

// The cases of ErrMalformedHeader, and a cross-site request authenticated
// by a cookie.
var (
	errHeaderNoKey        = authheader.ErrNoKey
	errHeaderSpaces       = authheader.ErrSpaces
	errHeaderInvalidChars = authheader.ErrInvalidChars
	errDuplicateCookie    = &wrapErr{msg: "tokenauth: invalid token cookie: sent more than once", base: ErrMalformedHeader}
	errCrossOrigin        = errors.New("tokenauth: cross-origin request authenticated by a cookie")
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

// Client-facing detail messages: Django REST Framework's own words where
// DRF has them, so that clients written against DRF keep working.
const (
	detailNotProvided      = "Authentication credentials were not provided."
	detailNoKey            = "Invalid token header. No credentials provided."
	detailSpaces           = "Invalid token header. Token string should not contain spaces."
	detailInvalidChars     = "Invalid token header. Token string should not contain invalid characters."
	detailDuplicateCookie  = "Invalid token cookie. The cookie was sent more than once."
	detailMalformed        = "Invalid token header."
	detailInvalidToken     = "Invalid token."
	detailExpired          = "Token has expired."
	detailUserInactive     = "User inactive or deleted."
	detailPermissionDenied = "You do not have permission to perform this action."
	detailCrossOrigin      = "CSRF Failed: Origin checking failed."
	detailUnavailable      = "Authentication service temporarily unavailable, try again later."
)

// Classify maps an error from Check to the HTTP status and the
// client-facing detail message the default ErrorHandler sends. The detail
// never contains internal error text. Unknown errors are treated as
// outages (503): an error that is not understood must not make a client
// drop a good token.
func Classify(err error) (status int, detail string) {
	switch {
	case errors.Is(err, ErrNoCredentials):
		return http.StatusUnauthorized, detailNotProvided
	case errors.Is(err, errHeaderNoKey):
		return http.StatusUnauthorized, detailNoKey
	case errors.Is(err, errHeaderSpaces):
		return http.StatusUnauthorized, detailSpaces
	case errors.Is(err, errDuplicateCookie):
		return http.StatusUnauthorized, detailDuplicateCookie
	case errors.Is(err, errHeaderInvalidChars):
		return http.StatusUnauthorized, detailInvalidChars
	case errors.Is(err, ErrMalformedHeader):
		return http.StatusUnauthorized, detailMalformed
	case errors.Is(err, ErrExpired):
		return http.StatusUnauthorized, detailExpired
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized, detailInvalidToken
	case errors.Is(err, ErrUserInactive):
		return http.StatusUnauthorized, detailUserInactive
	case errors.Is(err, ErrInsufficientScope):
		return http.StatusForbidden, detailPermissionDenied
	case errors.Is(err, errCrossOrigin):
		return http.StatusForbidden, detailCrossOrigin
	default:
		return http.StatusServiceUnavailable, detailUnavailable
	}
}
