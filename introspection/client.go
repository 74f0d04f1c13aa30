package introspection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/authheader"
	"github.com/go-tokenauth/tokenauth/internal/failurelog"
)

// Client checks tokens at a tokenauth introspection endpoint, for a
// resource server that has no access to the token store: its middleware
// answers as the Authenticator's does and puts the token in the request
// context (tokenauth.FromContext). Answers are cached briefly. Create it
// with NewClient; it is safe for concurrent use.
type Client struct {
	endpoint   string
	opts       ClientOptions
	authz      string // the Authorization header sent to the endpoint
	retryAfter string
	cache      *cache
	log        *failurelog.Log
}

// ClientOptions configures a Client. Set either ClientID and ClientSecret
// or Token.
type ClientOptions struct {
	// ClientID and ClientSecret authenticate the Client to the endpoint
	// with HTTP Basic (form-urlencoded first, RFC 6749 §2.3.1).
	ClientID, ClientSecret string

	// Token authenticates the Client instead: a tokenauth token carrying
	// the endpoint's scope, sent with the first of Keywords.
	Token string

	// Keywords are the Authorization schemes accepted from clients,
	// compared case-insensitively; the first is sent in WWW-Authenticate
	// and with Token. Default []string{"Token"}.
	Keywords []string

	// CacheTTL is how long an active token's answer is reused: a token
	// revoked at the endpoint goes on working here for up to that long.
	// Never past the token's expiry. Inactive answers are reused for 2
	// seconds at most. Outages are never cached. Default 10 seconds; a
	// negative value turns caching off.
	CacheTTL time.Duration

	// CacheSize bounds the number of answers kept. Default 10,000.
	CacheSize int

	// Timeout bounds each call to the endpoint; past it the request gets
	// 503. Default 5 seconds.
	Timeout time.Duration

	// HTTPClient makes the calls. Default: one that follows no
	// redirects. Use https: the calls carry tokens and the Client's own
	// credentials.
	HTTPClient *http.Client

	// ErrorHandler renders failures. Default
	// tokenauth.DRFErrorHandler(Keywords[0]).
	ErrorHandler tokenauth.ErrorHandler

	// RetryAfter is sent with 503 answers. Default 5 seconds.
	RetryAfter time.Duration

	// Logger receives endpoint failures (never tokens), at most one line
	// a second. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Defaults of ClientOptions.
const (
	defaultCacheTTL  = 10 * time.Second
	maxInactiveTTL   = 2 * time.Second
	defaultCacheSize = 10_000
	// maxKeyLen bounds the keys sent to the endpoint: a tokenauth key is
	// under 70 bytes, and anything much longer is junk.
	maxKeyLen = 512
	// maxAnswerBytes bounds the endpoint's answer.
	maxAnswerBytes = 64 << 10
)

// NewClient returns a Client of the introspection endpoint at endpoint,
// an absolute http or https URL. It returns an error wrapping
// tokenauth.ErrInvalidOptions when the options are invalid.
func NewClient(endpoint string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: introspection: endpoint must be an absolute http or https URL", tokenauth.ErrInvalidOptions)
	}
	o := &opts
	o.Keywords = slices.Clone(o.Keywords)
	if len(o.Keywords) == 0 {
		o.Keywords = []string{"Token"}
	}
	for _, k := range o.Keywords {
		if !isToken(k) {
			return nil, fmt.Errorf("%w: introspection: keyword %q must be a word of visible ASCII", tokenauth.ErrInvalidOptions, k)
		}
	}
	c := &Client{endpoint: endpoint, opts: opts}
	switch basic := o.ClientID != "" || o.ClientSecret != ""; {
	case basic == (o.Token != ""):
		return nil, fmt.Errorf("%w: introspection: set either ClientID and ClientSecret or Token", tokenauth.ErrInvalidOptions)
	case basic && (o.ClientID == "" || o.ClientSecret == ""):
		return nil, fmt.Errorf("%w: introspection: ClientID and ClientSecret go together", tokenauth.ErrInvalidOptions)
	case basic:
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret))
		c.authz = r.Header.Get("Authorization")
	default:
		if _, err := authheader.CheckChars(o.Token); err != nil || strings.ContainsAny(o.Token, " \t") {
			return nil, fmt.Errorf("%w: introspection: Token holds spaces or control characters", tokenauth.ErrInvalidOptions)
		}
		c.authz = o.Keywords[0] + " " + o.Token
	}
	if o.CacheSize < 0 || o.Timeout < 0 || o.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: introspection: CacheSize, Timeout and RetryAfter must not be negative", tokenauth.ErrInvalidOptions)
	}
	o.CacheTTL = cmp.Or(o.CacheTTL, defaultCacheTTL)
	o.CacheSize = cmp.Or(o.CacheSize, defaultCacheSize)
	o.Timeout = cmp.Or(o.Timeout, 5*time.Second)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = tokenauth.DRFErrorHandler(o.Keywords[0])
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c.opts = opts
	c.retryAfter = seconds(cmp.Or(o.RetryAfter, 5*time.Second))
	c.log = failurelog.New(o.Logger, "introspection: endpoint failure")
	c.cache = newCache(o.CacheTTL, min(o.CacheTTL, maxInactiveTTL), o.CacheSize, o.Now)
	return c, nil
}

// Verify checks a key obtained some other way than an HTTP request (a gRPC
// metadata entry) and returns its record, which is shared: do not modify
// it. The record holds what the endpoint tells: ID, UserID, Scopes,
// CreatedAt and ExpiresAt. Errors are tokenauth's: ErrInvalidToken,
// ErrExpired, or one wrapping ErrUnavailable when the endpoint failed.
func (c *Client) Verify(ctx context.Context, key string) (*tokenauth.Token, error) {
	if key == "" || len(key) > maxKeyLen {
		return nil, tokenauth.ErrInvalidToken
	}
	return c.cache.get(ctx, key, c.introspect)
}

// Require returns middleware that lets a request through only with a
// token the endpoint says is active and that carries every one of
// scopes, and puts the token in the request context. Failures are
// rendered as the Authenticator renders them: 401 for missing or bad
// credentials, 403 for a missing scope, 503 with Retry-After when the
// endpoint fails, times out or answers anything but an introspection
// answer.
func (c *Client) Require(scopes ...string) func(http.Handler) http.Handler {
	p := tokenauth.Policy{Scopes: slices.Clone(scopes)}
	return func(next http.Handler) http.Handler { return c.guard(p, next) }
}

// Optional returns middleware for routes open to anonymous clients: a
// request without credentials passes with no token in its context, while
// bad credentials still fail, as with the Authenticator's Optional.
func (c *Client) Optional() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return c.guard(tokenauth.Policy{Optional: true}, next) }
}

func (c *Client) guard(p tokenauth.Policy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := c.check(r, p)
		if err != nil {
			h := w.Header()
			if errors.Is(err, tokenauth.ErrUnavailable) {
				h.Set("Retry-After", c.retryAfter)
			}
			h.Set("X-Content-Type-Options", "nosniff")
			c.opts.ErrorHandler(w, r, err)
			return
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// check is the Client's counterpart of Authenticator.Check: a token
// already in r's context (an outer Require) is reused.
func (c *Client) check(r *http.Request, p tokenauth.Policy) (context.Context, error) {
	ctx := r.Context()
	t, ok := tokenauth.FromContext(ctx)
	if !ok {
		key, err := c.extract(r.Header["Authorization"])
		if err != nil {
			if p.Optional && err == tokenauth.ErrNoCredentials {
				return ctx, nil
			}
			return nil, err
		}
		if t, err = c.Verify(ctx, key); err != nil {
			return nil, err
		}
		ctx = tokenauth.NewContext(ctx, tokenauth.Principal{Token: t})
	}
	if len(p.Scopes) > 0 && !t.HasScopes(p.Scopes...) {
		return nil, tokenauth.ErrInsufficientScope
	}
	return ctx, nil
}

// extract reads the key from the Authorization header as the
// Authenticator does, with its errors.
func (c *Client) extract(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", tokenauth.ErrNoCredentials
	case 1:
		return authheader.Parse(values[0], c.opts.Keywords, false)
	}
	// Several headers are ambiguous when any is meant for us.
	for _, v := range values {
		if _, err := authheader.Parse(v, c.opts.Keywords, false); err != authheader.ErrNoCredentials {
			return "", authheader.ErrSpaces
		}
	}
	return "", tokenauth.ErrNoCredentials
}

// introspect asks the endpoint about key. It returns the token, an error
// matching tokenauth.ErrInvalidToken for an inactive one, or an outage.
func (c *Client) introspect(ctx context.Context, key string) (*tokenauth.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	body := url.Values{"token": {key}, "token_type_hint": {"access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, c.outage(ctx, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", c.authz)
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, c.outage(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	switch {
	case err != nil:
		return nil, c.outage(ctx, err)
	case resp.StatusCode != http.StatusOK:
		// 401 too: the endpoint refusing our credentials says nothing
		// about the client's token.
		return nil, c.outage(ctx, fmt.Errorf("the endpoint answered %s", resp.Status))
	case len(data) > maxAnswerBytes:
		return nil, c.outage(ctx, errors.New("the endpoint's answer is too long"))
	}
	t, err := parseAnswer(data)
	switch {
	case errors.Is(err, tokenauth.ErrInvalidToken):
		return nil, tokenauth.ErrInvalidToken
	case err != nil:
		return nil, c.outage(ctx, err)
	case t.Expired(c.opts.Now()):
		// Active at the endpoint, expired by our clock: the clocks
		// disagree, and the earlier deadline wins.
		return nil, tokenauth.ErrExpired
	}
	return t, nil
}

// outage logs a failed call to the endpoint and wraps it as
// tokenauth.ErrUnavailable.
func (c *Client) outage(ctx context.Context, err error) error {
	c.log.Failure(ctx, slog.LevelError, "introspect", err)
	return fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err)
}
