package tokenauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// UserLoader resolves the user that owns a token. It returns ErrUserInactive
// (or ErrNotFound) to refuse the user, which the client sees as 401 "User
// inactive or deleted."; any other error is an outage (503).
type UserLoader func(ctx context.Context, userID string) (any, error)

// Options configures an Authenticator. The zero value gives Django REST
// Framework's behaviour: `Authorization: Token <key>`, tokens that never
// expire, SHA-256 digests and DRF's JSON error bodies.
type Options struct {
	// Prefix starts every issued token ("tka_…"), so that secret scanners
	// can recognise leaked tokens. 1 to 16 ASCII letters or digits.
	// Default DefaultPrefix.
	Prefix string

	// Hasher computes the digests that stores keep. Default SHA256; see
	// NewHMAC for a keyed digest.
	Hasher Hasher

	// Keywords are the accepted Authorization schemes, compared
	// case-insensitively; the first is sent in WWW-Authenticate.
	// Default []string{"Token"}; use []string{"Bearer"} or both as needed.
	Keywords []string

	// RawHeader also accepts an Authorization header that holds the key
	// alone, with no keyword. Default false.
	RawHeader bool

	// Cookie, when set, names a cookie read for the key when the request
	// has no Authorization header for this authenticator. A cookie is sent
	// by browsers automatically: protect state-changing routes against
	// CSRF (for example with http.CrossOriginProtection). Default none.
	Cookie string

	// QueryParam, when set, names a URL query parameter read for the key
	// when neither header nor cookie has one. Keys in URLs end up in proxy
	// and server logs and in browser history: use only where a header
	// cannot be sent (WebSocket handshakes, downloads). Default none.
	QueryParam string

	// AcceptLegacyKeys accepts Django REST Framework's 40-hex keys besides
	// tokenauth's own format, so tokens imported from a DRF service keep
	// working. Default false.
	AcceptLegacyKeys bool

	// DefaultTTL is the lifetime of a token issued without one; zero means
	// tokens never expire (unless IdleTimeout is set). Default 0.
	DefaultTTL time.Duration

	// IdleTimeout, when positive, expires tokens that go unused for that
	// long: each recorded use moves ExpiresAt to now+IdleTimeout (never
	// backwards). Uses are recorded once per TouchInterval, so IdleTimeout
	// must exceed it. Default 0 (off).
	IdleTimeout time.Duration

	// TouchInterval is how often, at most, a token's use is written to the
	// store (LastUsedAt and the sliding expiry). Zero means one minute; a
	// negative value turns last-used tracking off.
	TouchInterval time.Duration

	// UserLoader, when set, loads the token's user on each request; the
	// user is then available through UserFromContext. Default none.
	UserLoader UserLoader

	// ErrorHandler renders authentication failures. Default
	// DRFErrorHandler with the first keyword.
	ErrorHandler ErrorHandler

	// StoreTimeout, when positive, bounds each store call made while
	// authenticating; past it the request gets 503. Default 0: only the
	// request's own context applies.
	StoreTimeout time.Duration

	// RetryAfter is sent in the Retry-After header of 503 responses.
	// Default 5 seconds.
	RetryAfter time.Duration

	// Logger receives store and loader failures (never keys, digests or
	// request data). Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Authenticator issues and checks tokens. It is safe for concurrent use;
// create one with New and share it.
type Authenticator struct {
	store         Store
	prefix        string
	hasher        Hasher
	keywords      []string
	rawHeader     bool
	cookie        string
	queryParam    string
	legacy        bool
	defaultTTL    time.Duration
	idleTimeout   time.Duration
	touchInterval time.Duration
	loadUser      UserLoader
	errorHandler  ErrorHandler
	storeTimeout  time.Duration
	retryAfter    string
	logger        *slog.Logger
	now           func() time.Time

	touchMu sync.Mutex
	touched map[string]time.Time // token ID -> when this process last wrote a use
}

// maxTouchClaims bounds the map that keeps concurrent requests from writing
// the same token's use twice.
const maxTouchClaims = 1 << 14

// New returns an Authenticator over store. It returns an error wrapping
// ErrInvalidOptions when opts are invalid.
func New(store Store, opts Options) (*Authenticator, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: store is nil", ErrInvalidOptions)
	}
	a := &Authenticator{
		store:         store,
		prefix:        opts.Prefix,
		hasher:        opts.Hasher,
		rawHeader:     opts.RawHeader,
		cookie:        opts.Cookie,
		queryParam:    opts.QueryParam,
		legacy:        opts.AcceptLegacyKeys,
		defaultTTL:    opts.DefaultTTL,
		idleTimeout:   opts.IdleTimeout,
		touchInterval: opts.TouchInterval,
		loadUser:      opts.UserLoader,
		errorHandler:  opts.ErrorHandler,
		storeTimeout:  opts.StoreTimeout,
		logger:        opts.Logger,
		now:           opts.Now,
		touched:       make(map[string]time.Time),
	}
	if a.prefix == "" {
		a.prefix = DefaultPrefix
	}
	if !validPrefix(a.prefix) {
		return nil, fmt.Errorf("%w: Prefix %q must be 1 to %d ASCII letters or digits", ErrInvalidOptions, a.prefix, maxPrefixLen)
	}
	if a.hasher == nil {
		a.hasher = SHA256
	}
	a.keywords = slices.Clone(opts.Keywords)
	if len(a.keywords) == 0 {
		a.keywords = []string{"Token"}
	}
	for _, k := range a.keywords {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			return nil, fmt.Errorf("%w: keyword %q must be a non-empty word of visible ASCII", ErrInvalidOptions, k)
		}
	}
	if a.defaultTTL < 0 || a.idleTimeout < 0 || a.storeTimeout < 0 || opts.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: DefaultTTL, IdleTimeout, StoreTimeout and RetryAfter must not be negative", ErrInvalidOptions)
	}
	if a.touchInterval == 0 {
		a.touchInterval = time.Minute
	}
	if a.idleTimeout > 0 {
		if a.touchInterval < 0 {
			return nil, fmt.Errorf("%w: IdleTimeout needs last-used tracking; TouchInterval must not be negative", ErrInvalidOptions)
		}
		if a.idleTimeout <= a.touchInterval {
			return nil, fmt.Errorf("%w: IdleTimeout (%s) must exceed TouchInterval (%s)", ErrInvalidOptions, a.idleTimeout, a.touchInterval)
		}
	}
	if a.errorHandler == nil {
		a.errorHandler = DRFErrorHandler(a.keywords[0])
	}
	retry := opts.RetryAfter
	if retry == 0 {
		retry = 5 * time.Second
	}
	a.retryAfter = fmt.Sprint(int((retry + time.Second - 1) / time.Second))
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Store returns the store the Authenticator was created with.
func (a *Authenticator) Store() Store { return a.store }

// Hasher returns the Hasher in use, for tools that write digests
// themselves (an import of legacy keys).
func (a *Authenticator) Hasher() Hasher { return a.hasher }

// Keyword returns the first configured Authorization keyword, the one sent
// in WWW-Authenticate and used by clients.
func (a *Authenticator) Keyword() string { return a.keywords[0] }

// IssueOptions describes a token to issue.
type IssueOptions struct {
	// Name says what the token is for ("cli", "laptop"); optional.
	Name string
	// Scopes the token carries; see Token.HasScope.
	Scopes []string
	// TTL is the token's lifetime; zero means Options.DefaultTTL (and then
	// Options.IdleTimeout); if all are zero the token never expires.
	TTL time.Duration
}

// Issue creates a token for userID and returns its plaintext, which is
// shown once and never stored, and its record. Store failures wrap
// ErrUnavailable.
func (a *Authenticator) Issue(ctx context.Context, userID string, o IssueOptions) (string, *Token, error) {
	if userID == "" {
		return "", nil, errors.New("tokenauth: Issue: empty user ID")
	}
	if o.TTL < 0 {
		return "", nil, fmt.Errorf("tokenauth: Issue: negative TTL %s", o.TTL)
	}
	key, err := Generate(a.prefix)
	if err != nil {
		return "", nil, err
	}
	id, err := NewID()
	if err != nil {
		return "", nil, err
	}
	// Microsecond precision survives a round trip through every SQL store.
	now := a.now().UTC().Truncate(time.Microsecond)
	t := &Token{
		ID:        id,
		UserID:    userID,
		Name:      o.Name,
		Scopes:    slices.Clone(o.Scopes),
		CreatedAt: now,
		Digest:    a.hasher.Digest(key),
	}
	switch ttl := o.TTL; {
	case ttl > 0:
		t.ExpiresAt = now.Add(ttl)
	case a.defaultTTL > 0:
		t.ExpiresAt = now.Add(a.defaultTTL)
	case a.idleTimeout > 0:
		t.ExpiresAt = now.Add(a.idleTimeout)
	}
	out := t.Clone()
	if err := a.store.Create(ctx, t); err != nil {
		return "", nil, a.storeError("create", err)
	}
	return key, out, nil
}

// Authenticate checks the credentials of r: the Authorization header, then
// the cookie and query parameter if configured. It returns ErrNoCredentials
// when the request has none, another sentinel of this package for bad
// credentials, or an error wrapping ErrUnavailable when the store failed.
// Classify maps each to its HTTP status. Authenticate does not modify r.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	key, err := a.extract(r)
	if err != nil {
		return Principal{}, err
	}
	return a.Verify(r.Context(), key)
}

// Verify checks a key obtained some other way (a gRPC metadata entry, a
// WebSocket message) and returns its Principal, with the same errors as
// Authenticate.
func (a *Authenticator) Verify(ctx context.Context, key string) (Principal, error) {
	if !a.wellFormed(key) {
		return Principal{}, ErrInvalidToken
	}
	return a.lookup(ctx, a.hasher.Digest(key))
}

// AuthenticateContext is Authenticate for middleware: it also returns the
// request's context with the Principal in it, as NewContext would, but
// with one allocation where Authenticate and NewContext take two. Pass the
// context on with r.WithContext. On error the context is nil.
func (a *Authenticator) AuthenticateContext(r *http.Request) (context.Context, Principal, error) {
	key, err := a.extract(r)
	if err != nil {
		return nil, Principal{}, err
	}
	if !a.wellFormed(key) {
		return nil, Principal{}, ErrInvalidToken
	}
	ctx := r.Context()
	pc := &principalCtx{Context: ctx}
	var digest []byte
	if d, ok := a.hasher.(digestAppender); ok {
		digest = d.appendDigest(pc.digest[:0], key)
	} else {
		digest = a.hasher.Digest(key)
	}
	if pc.p, err = a.lookup(ctx, digest); err != nil {
		return nil, Principal{}, err
	}
	return pc, pc.p, nil
}

// wellFormed reports whether key has the shape of a token this
// Authenticator accepts, before any store is asked.
func (a *Authenticator) wellFormed(key string) bool {
	return parse(a.prefix, key) == nil || a.legacy && IsLegacyKey(key)
}

// lookup finds the token with the given digest and checks it: the rest of
// Verify.
func (a *Authenticator) lookup(ctx context.Context, digest []byte) (Principal, error) {
	t, err := a.find(ctx, digest)
	if err != nil {
		return Principal{}, err
	}
	// Defence in depth against a store that matches loosely.
	if subtle.ConstantTimeCompare(t.Digest, digest) != 1 {
		return Principal{}, ErrInvalidToken
	}
	now := a.now()
	if t.Expired(now) {
		return Principal{}, ErrExpired
	}
	p := Principal{Token: t}
	if a.loadUser != nil {
		u, err := a.loadUser(ctx, t.UserID)
		switch {
		case errors.Is(err, ErrUserInactive) || errors.Is(err, ErrNotFound):
			return Principal{}, ErrUserInactive
		case err != nil:
			return Principal{}, a.storeErrorCtx(ctx, "load user", err)
		}
		p.User = u
	}
	if err := a.touch(ctx, t, now); err != nil {
		return Principal{}, err
	}
	return p, nil
}

func (a *Authenticator) find(ctx context.Context, digest []byte) (*Token, error) {
	sctx := ctx
	if a.storeTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, a.storeTimeout)
		defer cancel()
	}
	t, err := a.store.Find(sctx, digest)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, a.storeErrorCtx(ctx, "find", err)
	case t == nil:
		return nil, a.storeError("find", errors.New("store returned a nil token without an error"))
	}
	return t, nil
}

// touch records a use of t if the last recorded one is older than the
// touch interval, claiming the write so that concurrent requests with the
// same token write once.
func (a *Authenticator) touch(ctx context.Context, t *Token, now time.Time) error {
	if a.touchInterval < 0 || now.Sub(t.LastUsedAt) < a.touchInterval {
		return nil
	}
	a.touchMu.Lock()
	if last, ok := a.touched[t.ID]; ok && now.Sub(last) < a.touchInterval {
		a.touchMu.Unlock()
		return nil
	}
	if len(a.touched) >= maxTouchClaims {
		for id, last := range a.touched {
			if now.Sub(last) >= a.touchInterval {
				delete(a.touched, id)
			}
		}
	}
	if len(a.touched) < maxTouchClaims {
		a.touched[t.ID] = now
	}
	a.touchMu.Unlock()

	var expires time.Time
	if a.idleTimeout > 0 {
		expires = now.Add(a.idleTimeout).UTC().Truncate(time.Microsecond)
	}
	sctx := ctx
	if a.storeTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, a.storeTimeout)
		defer cancel()
	}
	err := a.store.Touch(sctx, t.ID, now.UTC().Truncate(time.Microsecond), expires)
	switch {
	case errors.Is(err, ErrNotFound):
		// Revoked while the request was in flight.
		return ErrInvalidToken
	case err != nil:
		// The lookup succeeded; a failed bookkeeping write must not turn a
		// valid token away. Let the next request try again.
		a.touchMu.Lock()
		delete(a.touched, t.ID)
		a.touchMu.Unlock()
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug // the client went away; not a store fault
		}
		a.logger.LogAttrs(ctx, level, "tokenauth: recording token use failed",
			slog.String("token_id", t.ID), slog.String("error", err.Error()))
	}
	return nil
}

// Revoke deletes the token with the given ID. It returns ErrNotFound if
// there is none, or an error wrapping ErrUnavailable.
func (a *Authenticator) Revoke(ctx context.Context, id string) error {
	if err := a.store.Delete(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return a.storeError("delete", err)
	}
	return nil
}

// RevokeAll deletes every token of userID ("log out everywhere") and
// returns how many there were.
func (a *Authenticator) RevokeAll(ctx context.Context, userID string) (int, error) {
	n, err := a.store.DeleteUser(ctx, userID)
	if err != nil {
		return 0, a.storeError("delete user", err)
	}
	return n, nil
}

// Rotate replaces old with a new token of the same user, name and scopes,
// with the same lifetime counted from now, and revokes old. The new token
// is stored before the old one is revoked, so a failure never leaves the
// user with neither. It returns ErrInvalidToken if old was already revoked.
func (a *Authenticator) Rotate(ctx context.Context, old *Token) (string, *Token, error) {
	if old == nil {
		return "", nil, ErrInvalidToken
	}
	var ttl time.Duration
	if !old.ExpiresAt.IsZero() {
		ttl = old.ExpiresAt.Sub(old.CreatedAt)
		if ttl <= 0 {
			return "", nil, ErrExpired
		}
	}
	key, t, err := a.Issue(ctx, old.UserID, IssueOptions{Name: old.Name, Scopes: old.Scopes, TTL: ttl})
	if err != nil {
		return "", nil, err
	}
	if err := a.Revoke(ctx, old.ID); err != nil {
		// Undo: the caller keeps the old token (or none, if it was revoked).
		_ = a.store.Delete(context.WithoutCancel(ctx), t.ID)
		if errors.Is(err, ErrNotFound) {
			return "", nil, ErrInvalidToken
		}
		return "", nil, err
	}
	return key, t, nil
}

// storeError logs a store failure and wraps it as ErrUnavailable.
func (a *Authenticator) storeError(op string, err error) error {
	return a.storeErrorCtx(context.Background(), op, err)
}

// storeErrorCtx is storeError for a call made on behalf of ctx. When ctx
// itself has ended (the client hung up), the failure says nothing about
// the store: it is logged at debug level only, so that anyone closing
// connections early cannot fill an operator's error log.
func (a *Authenticator) storeErrorCtx(ctx context.Context, op string, err error) error {
	level := slog.LevelError
	if ctx.Err() != nil {
		level = slog.LevelDebug
	}
	a.logger.LogAttrs(ctx, level, "tokenauth: store failure",
		slog.String("op", op), slog.String("error", err.Error()))
	return unavailable(err)
}
