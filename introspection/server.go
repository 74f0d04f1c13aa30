package introspection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/failurelog"
)

// Server answers RFC 7662 introspection and RFC 7009 revocation requests
// for the tokens of one Authenticator. Create it with New; it is safe for
// concurrent use.
type Server struct {
	auth       *tokenauth.Authenticator
	opts       Options
	challenges []string // WWW-Authenticate values of a 401
	retryAfter string
	log        *failurelog.Log
}

// Options configures a Server. The zero value lets callers authenticate
// with a token carrying the scope "introspect" only.
type Options struct {
	// Scope is what a caller's token must carry to introspect tokens, and
	// to revoke tokens other than itself. Default "introspect". Grant it
	// to services, never to end users: it reveals the owner and scopes of
	// any token the caller holds.
	Scope string

	// Clients checks callers that authenticate with HTTP Basic: a client
	// ID and secret, which the Server form-decodes first (RFC 6749
	// §2.3.1). It reports whether they are valid, comparing secrets in
	// constant time as StaticClients does; an error is an outage,
	// answered 503. Nil: only tokens authenticate callers, and a Basic
	// header gets 401.
	Clients func(ctx context.Context, clientID, secret string) (bool, error)

	// Username, when set, names the user of an active token in the
	// "username" member. An error is an outage (503); an empty name is
	// left out.
	Username func(ctx context.Context, p tokenauth.Principal) (string, error)

	// Keyword is the Authorization scheme of the Authenticator's tokens,
	// the first of its Options.Keywords: an active token's "token_type"
	// and the scheme of the 401 challenge. Default "Token".
	Keyword string

	// Realm names the protection space in 401 challenges. Default
	// "tokenauth".
	Realm string

	// RetryAfter is sent with 503 answers. Default 5 seconds.
	RetryAfter time.Duration

	// Logger receives failures of Clients and Username (never tokens or
	// secrets), at most one line a second. Default slog.Default().
	Logger *slog.Logger
}

// New returns a Server for the tokens of auth. It returns an error
// wrapping tokenauth.ErrInvalidOptions when opts are invalid.
func New(auth *tokenauth.Authenticator, opts Options) (*Server, error) {
	if auth == nil {
		return nil, fmt.Errorf("%w: introspection: Authenticator is nil", tokenauth.ErrInvalidOptions)
	}
	opts.Scope = cmp.Or(opts.Scope, "introspect")
	opts.Keyword = cmp.Or(opts.Keyword, "Token")
	opts.Realm = cmp.Or(opts.Realm, "tokenauth")
	if opts.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: introspection: RetryAfter must not be negative", tokenauth.ErrInvalidOptions)
	}
	if !validScope(opts.Scope) || !isToken(opts.Keyword) {
		return nil, fmt.Errorf("%w: introspection: Scope %q and Keyword %q must be single words of visible ASCII", tokenauth.ErrInvalidOptions, opts.Scope, opts.Keyword)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	realm := ` realm="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(opts.Realm) + `"`
	s := &Server{
		auth:       auth,
		opts:       opts,
		challenges: []string{opts.Keyword + realm},
		retryAfter: seconds(cmp.Or(opts.RetryAfter, 5*time.Second)),
		log:        failurelog.New(opts.Logger, "introspection: failure"),
	}
	if opts.Clients != nil {
		s.challenges = append([]string{"Basic" + realm}, s.challenges...)
	}
	return s, nil
}

// seconds renders d as whole seconds, rounded up, for Retry-After.
func seconds(d time.Duration) string {
	return fmt.Sprint(int64((d + time.Second - 1) / time.Second))
}

// isToken reports whether s is an RFC 9110 token: a non-empty word of
// visible ASCII without separators, as an auth scheme must be.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// caller is who sent a request: a token's holder, or a client
// authenticated with HTTP Basic.
type caller struct {
	token *tokenauth.Token // nil for a Basic client
	// privileged callers may introspect, and revoke any token.
	privileged bool
}

// errUnauthenticated: the caller sent no credentials, bad ones, or ones
// that do not allow what it asked.
var errUnauthenticated = errors.New("introspection: caller not authenticated")

// authenticate identifies the caller of r: HTTP Basic through
// Options.Clients, or else a token as the Authenticator reads one. It
// returns errUnauthenticated, or an error matching tokenauth.ErrUnavailable
// when it could not tell.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	if isBasic(r.Header["Authorization"]) {
		if s.opts.Clients == nil {
			return caller{}, errUnauthenticated
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			return caller{}, errUnauthenticated
		}
		// RFC 6749 §2.3.1: both are form-urlencoded before Basic encodes
		// them, as OAuth client libraries do.
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || id == "" {
			return caller{}, errUnauthenticated
		}
		ok, err := s.opts.Clients(r.Context(), id, secret)
		switch {
		case err != nil:
			return caller{}, s.failure(r.Context(), "check client", err)
		case !ok:
			return caller{}, errUnauthenticated
		}
		return caller{privileged: true}, nil
	}
	ctx, err := s.auth.Check(r, tokenauth.Policy{})
	switch {
	case errors.Is(err, tokenauth.ErrUnavailable):
		return caller{}, err
	case err != nil:
		return caller{}, errUnauthenticated
	}
	t, _ := tokenauth.FromContext(ctx)
	return caller{token: t, privileged: t.HasScopes(s.opts.Scope)}, nil
}

// serve does what both endpoints do first: it reads the request's token,
// authenticates the caller (who must be privileged if privileged is
// set) and looks the token up. It answers failures itself and reports
// whether to go on; p.Token is nil for a token that is not active.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, privileged bool) (c caller, key string, p tokenauth.Principal, ok bool) {
	setHeaders(w)
	key, err := readToken(w, r)
	if err == nil {
		c, err = s.authenticate(r)
	}
	if err == nil && privileged && !c.privileged {
		err = errUnauthenticated
	}
	if err == nil {
		if p, err = s.auth.Verify(r.Context(), key); err != nil && !errors.Is(err, tokenauth.ErrUnavailable) {
			p, err = tokenauth.Principal{}, nil // not active
		}
	}
	if err != nil {
		s.fail(w, err)
		return caller{}, "", tokenauth.Principal{}, false
	}
	return c, key, p, true
}

// isBasic reports whether the request's one Authorization header uses the
// Basic scheme. Several headers are left to the Authenticator, which
// refuses them.
func isBasic(values []string) bool {
	if len(values) != 1 {
		return false
	}
	scheme, _, _ := strings.Cut(strings.TrimLeft(values[0], " \t"), " ")
	return strings.EqualFold(scheme, "Basic")
}

// failure logs a failure of a host callback and wraps it as an outage.
func (s *Server) failure(ctx context.Context, op string, err error) error {
	s.log.Failure(ctx, slog.LevelError, op, err)
	return fmt.Errorf("%w: %s: %w", tokenauth.ErrUnavailable, op, err)
}
