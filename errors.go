package tokenauth

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/authheader"
)

// Errors of Check, Verify and friends; test with errors.Is, as store
// errors come wrapped.
var (
	// ErrNoCredentials: no credentials for this authenticator.
	ErrNoCredentials = authheader.ErrNoCredentials
	// ErrMalformedHeader: unreadable credentials (e.g. a keyword alone).
	ErrMalformedHeader = authheader.ErrMalformed
	// ErrInvalidToken: a malformed, unknown or revoked key.
	ErrInvalidToken = errors.New("tokenauth: invalid token")
	// ErrExpired: an expired token. It wraps ErrInvalidToken.
	ErrExpired = &wrapErr{msg: "tokenauth: token expired", base: ErrInvalidToken}
	// ErrUserInactive: Options.UserLoader refused the user.
	ErrUserInactive = errors.New("tokenauth: user inactive or deleted")
	// ErrInsufficientScope: the token lacks a scope the route requires.
	ErrInsufficientScope = errors.New("tokenauth: insufficient scope")
	// ErrAddressNotAllowed: the token's address lists refuse the client (403).
	ErrAddressNotAllowed = errors.New("tokenauth: token not allowed from this address")
	// ErrRateLimited: the token has used its RateLimit for this window (429).
	ErrRateLimited = errors.New("tokenauth: token rate limited")
	// ErrUnavailable: the Store, UserLoader or RateCounter failed (503).
	ErrUnavailable = errors.New("tokenauth: token store unavailable")
	// ErrNotFound: a Store does not hold the token.
	ErrNotFound = errors.New("tokenauth: token not found")
	// ErrExists: Store.Create found the ID or digest already stored.
	ErrExists = errors.New("tokenauth: token already exists")
	// ErrRevoked: made before its user's tokens were revoked; wraps ErrInvalidToken.
	ErrRevoked = &wrapErr{msg: "tokenauth: the user's tokens were revoked after this one was authorised", base: ErrInvalidToken}
	// ErrInvalidOptions: a constructor was given an invalid configuration.
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
	// errMalformedKey: a key that is not the shape of any this
	// Authenticator issues or accepts; to clients, an invalid token.
	errMalformedKey = &wrapErr{msg: "tokenauth: malformed token", base: ErrInvalidToken}
	// errNotYetValid: a token before its NotBefore.
	errNotYetValid = &wrapErr{msg: "tokenauth: token not yet valid", base: ErrInvalidToken}
)

// rateLimitedError is ErrRateLimited with the wait, for Retry-After.
type rateLimitedError struct{ wait time.Duration }

func (e *rateLimitedError) Error() string        { return ErrRateLimited.Error() }
func (e *rateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// waitSeconds is how many whole seconds err says to wait, at least one.
func waitSeconds(err error) int64 {
	var rl *rateLimitedError
	if !errors.As(err, &rl) {
		return 1
	}
	return max(1, int64((rl.wait+time.Second-1)/time.Second))
}

// reason names err, an error of Check or Verify, for Options.OnCheck:
// the closed set its documentation lists.
func reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoCredentials):
		return "missing"
	case errors.Is(err, ErrMalformedHeader) || errors.Is(err, errMalformedKey):
		return "malformed"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, errNotYetValid):
		return "not_yet_valid"
	case errors.Is(err, ErrInvalidToken):
		return "unknown"
	case errors.Is(err, ErrUserInactive):
		return "inactive_user"
	case errors.Is(err, ErrInsufficientScope):
		return "insufficient_scope"
	case errors.Is(err, errCrossOrigin):
		return "cross_origin"
	case errors.Is(err, ErrAddressNotAllowed):
		return "address_not_allowed"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	default:
		return "store_failure"
	}
}

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
	detailNotYetValid      = "Token is not valid yet."
	detailAddress          = "This token may not be used from this address."
	detailUserInactive     = "User inactive or deleted."
	detailPermissionDenied = "You do not have permission to perform this action."
	detailCrossOrigin      = "CSRF Failed: Origin checking failed."
	detailUnavailable      = "Authentication service temporarily unavailable, try again later."
)

// Classify maps an error of Check to the status and client-safe detail
// the default ErrorHandler sends; unknown errors are outages (503).
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
	case errors.Is(err, errNotYetValid):
		return http.StatusUnauthorized, detailNotYetValid
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized, detailInvalidToken
	case errors.Is(err, ErrUserInactive):
		return http.StatusUnauthorized, detailUserInactive
	case errors.Is(err, ErrInsufficientScope):
		return http.StatusForbidden, detailPermissionDenied
	case errors.Is(err, errCrossOrigin):
		return http.StatusForbidden, detailCrossOrigin
	case errors.Is(err, ErrAddressNotAllowed):
		return http.StatusForbidden, detailAddress
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, throttled(waitSeconds(err))
	default:
		return http.StatusServiceUnavailable, detailUnavailable
	}
}

// throttled is Django REST Framework's Throttled detail.
func throttled(secs int64) string {
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	return "Request was throttled. Expected available in " + strconv.FormatInt(secs, 10) + unit
}
