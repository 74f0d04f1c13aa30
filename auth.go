package tokenauth

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/deadline"
	"github.com/go-tokenauth/tokenauth/internal/failurelog"
	"github.com/go-tokenauth/tokenauth/internal/keyformat"
	"github.com/go-tokenauth/tokenauth/internal/usequeue"
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
	// Default "tka".
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
	// has no Authorization header for this authenticator. Browsers send
	// cookies by themselves, so a request authenticated by the cookie with
	// an unsafe method (POST, PUT, PATCH, DELETE) must pass
	// http.CrossOriginProtection, or it gets 403. Default none.
	Cookie string

	// TrustedOrigins are origins ("https://app.example.com") allowed to
	// send unsafe requests authenticated by Cookie from another site.
	// Default none.
	TrustedOrigins []string

	// QueryParam, when set, names a URL query parameter read for the key
	// when neither header nor cookie has one. Keys in URLs end up in proxy
	// and server logs and in browser history: use only where a header
	// cannot be sent (WebSocket handshakes, downloads). Default none.
	QueryParam string

	// AcceptLegacyKeys accepts Django REST Framework's 40-hex keys besides
	// tokenauth's own format, so tokens imported from a DRF service keep
	// working. Default false.
	AcceptLegacyKeys bool

	// AcceptUUIDKeys accepts keys in the canonical UUID form
	// (8-4-4-4-12 hexadecimal digits), for tokens imported from a service
	// that issued UUIDs. Default false.
	AcceptUUIDKeys bool

	// DefaultTTL is the lifetime of a token issued without one; zero means
	// tokens never expire (unless IdleTimeout is set). The lifetime is an
	// absolute deadline: no use extends a token past it. Default 0.
	DefaultTTL time.Duration

	// IdleTimeout, when positive, expires tokens that go unused for that
	// long: each recorded use moves ExpiresAt to now+IdleTimeout, never
	// past the token's MaxExpiresAt. Uses are recorded once per
	// TouchInterval, so IdleTimeout must exceed it. Default 0 (off).
	IdleTimeout time.Duration

	// TouchInterval is how often, at most, a token's use is recorded
	// (LastUsedAt and the sliding expiry). Uses are written in the
	// background, in batches, within a second; so another replica sees a
	// use, and a sliding expiry extended by it, within TouchInterval plus
	// a second. Zero means one minute; a negative value turns last-used
	// tracking off.
	TouchInterval time.Duration

	// UserLoader, when set, loads the token's user on each request; the
	// user is then available through UserFromContext. Default none.
	UserLoader UserLoader

	// ErrorHandler renders authentication failures. Default
	// DRFErrorHandler with the first keyword.
	ErrorHandler ErrorHandler

	// StoreTimeout bounds each store and UserLoader call; past it the
	// request gets 503, so a frozen database cannot hang clients. Default
	// 5 seconds; a negative value turns it off.
	StoreTimeout time.Duration

	// RetryAfter is sent in the Retry-After header of 503 responses.
	// Default 5 seconds.
	RetryAfter time.Duration

	// Logger receives store and loader failures (never keys, digests or
	// request data), at most one error line a second. Default
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// defaultStoreTimeout is long enough for a loaded database and short
// enough that a client still gets an answer.
const defaultStoreTimeout = 5 * time.Second

// Authenticator issues and checks tokens. It is safe for concurrent use;
// create one with New and share it.
type Authenticator struct {
	store       Store
	opts        Options // with defaults filled in
	retryAfter  string  // opts.RetryAfter in whole seconds, for the header
	log         *failurelog.Log
	crossOrigin *http.CrossOriginProtection // when opts.Cookie is set
	uses        *usequeue.Writer[TokenUse]
	realClock   bool // opts.Now is time.Now: one reading serves a whole check
}

// New returns an Authenticator over store. It returns an error wrapping
// ErrInvalidOptions when opts are invalid.
func New(store Store, opts Options) (*Authenticator, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: store is nil", ErrInvalidOptions)
	}
	o := &opts
	o.Prefix = cmp.Or(o.Prefix, keyformat.DefaultPrefix)
	if !keyformat.ValidPrefix(o.Prefix) {
		return nil, fmt.Errorf("%w: Prefix %q must be 1 to %d ASCII letters or digits", ErrInvalidOptions, o.Prefix, keyformat.MaxPrefixLen)
	}
	if o.Hasher == nil {
		o.Hasher = SHA256
	}
	o.Keywords = slices.Clone(o.Keywords)
	if len(o.Keywords) == 0 {
		o.Keywords = []string{"Token"}
	}
	for _, k := range o.Keywords {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			return nil, fmt.Errorf("%w: keyword %q must be a non-empty word of visible ASCII", ErrInvalidOptions, k)
		}
	}
	if o.DefaultTTL < 0 || o.IdleTimeout < 0 || o.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: DefaultTTL, IdleTimeout and RetryAfter must not be negative", ErrInvalidOptions)
	}
	o.StoreTimeout = max(cmp.Or(o.StoreTimeout, defaultStoreTimeout), 0)
	o.TouchInterval = cmp.Or(o.TouchInterval, time.Minute)
	if o.IdleTimeout > 0 {
		if o.TouchInterval < 0 {
			return nil, fmt.Errorf("%w: IdleTimeout needs last-used tracking; TouchInterval must not be negative", ErrInvalidOptions)
		}
		if o.IdleTimeout <= o.TouchInterval {
			return nil, fmt.Errorf("%w: IdleTimeout (%s) must exceed TouchInterval (%s)", ErrInvalidOptions, o.IdleTimeout, o.TouchInterval)
		}
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = DRFErrorHandler(o.Keywords[0])
	}
	o.RetryAfter = cmp.Or(o.RetryAfter, 5*time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	realClock := o.Now == nil
	if realClock {
		o.Now = time.Now
	}
	a := &Authenticator{
		store:      store,
		opts:       opts,
		retryAfter: fmt.Sprint(int((o.RetryAfter + time.Second - 1) / time.Second)),
		log:        failurelog.New(o.Logger, "tokenauth: store failure"),
		realClock:  realClock,
	}
	a.uses = usequeue.New(o.TouchInterval, o.StoreTimeout, o.Now, a.writeUses)
	if o.Cookie != "" {
		a.crossOrigin = http.NewCrossOriginProtection()
		for _, origin := range o.TrustedOrigins {
			if err := a.crossOrigin.AddTrustedOrigin(origin); err != nil {
				return nil, fmt.Errorf("%w: TrustedOrigins: %w", ErrInvalidOptions, err)
			}
		}
	}
	return a, nil
}

// IssueOptions describes a token to issue.
type IssueOptions struct {
	// Name says what the token is for ("cli", "laptop"); optional.
	Name string
	// Scopes the token carries; see Token.HasScopes.
	Scopes []string
	// TTL is the token's lifetime, an absolute deadline; zero means
	// Options.DefaultTTL. With neither, the token expires only through
	// Options.IdleTimeout, or never.
	TTL time.Duration
}

// Issue creates a token for userID and returns its plaintext, which is
// shown once and never stored, and its record. Store failures wrap
// ErrUnavailable.
func (a *Authenticator) Issue(ctx context.Context, userID string, o IssueOptions) (string, *Token, error) {
	deadline, err := a.deadline(o.TTL)
	if err != nil {
		return "", nil, err
	}
	key, err := keyformat.Generate(a.opts.Prefix)
	if err != nil {
		return "", nil, err
	}
	t, err := a.create(ctx, key, userID, time.Time{}, o, deadline)
	if err != nil {
		return "", nil, err
	}
	return key, t, nil
}

// Import stores a record for a key that was issued elsewhere, such as a
// Django REST Framework key (with Options.AcceptLegacyKeys) or a UUID key
// (with Options.AcceptUUIDKeys), so that clients keep the key they have.
// created is kept as the token's CreatedAt (zero means now); expiry counts
// from the import. It returns ErrInvalidToken for a key this Authenticator
// would refuse, and ErrExists if the key is already stored.
func (a *Authenticator) Import(ctx context.Context, key, userID string, created time.Time, o IssueOptions) (*Token, error) {
	if !a.wellFormed(key) {
		return nil, ErrInvalidToken
	}
	deadline, err := a.deadline(o.TTL)
	if err != nil {
		return nil, err
	}
	return a.create(ctx, key, userID, created, o, deadline)
}

// deadline returns the absolute expiry of a token issued now with ttl (or
// DefaultTTL); zero means none.
func (a *Authenticator) deadline(ttl time.Duration) (time.Time, error) {
	if ttl < 0 {
		return time.Time{}, fmt.Errorf("tokenauth: negative TTL %s", ttl)
	}
	if ttl = cmp.Or(ttl, a.opts.DefaultTTL); ttl == 0 {
		return time.Time{}, nil
	}
	return a.opts.Now().UTC().Truncate(time.Microsecond).Add(ttl), nil
}

// create stores a new record for key, expiring at deadline (zero: never)
// or earlier through IdleTimeout. o.TTL is ignored.
func (a *Authenticator) create(ctx context.Context, key, userID string, created time.Time, o IssueOptions, deadline time.Time) (*Token, error) {
	if userID == "" {
		return nil, errors.New("tokenauth: empty user ID")
	}
	id, err := keyformat.NewID()
	if err != nil {
		return nil, err
	}
	// Microsecond precision survives a round trip through every SQL store.
	now := a.opts.Now().UTC().Truncate(time.Microsecond)
	if created.IsZero() {
		created = now
	}
	t := &Token{
		ID:           id,
		UserID:       userID,
		Name:         o.Name,
		Scopes:       slices.Clone(o.Scopes),
		CreatedAt:    created.UTC().Truncate(time.Microsecond),
		ExpiresAt:    a.slide(now, deadline),
		MaxExpiresAt: deadline,
		Digest:       a.opts.Hasher.Digest(key),
	}
	out := t.Clone()
	sctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.store.Create(sctx, t); err != nil {
		if errors.Is(err, ErrExists) {
			return nil, ErrExists
		}
		return nil, a.storeError(ctx, "create", err)
	}
	return out, nil
}

// slide returns when a token used at now expires: now+IdleTimeout, never
// past deadline; deadline alone without IdleTimeout.
func (a *Authenticator) slide(now, deadline time.Time) time.Time {
	if a.opts.IdleTimeout <= 0 {
		return deadline
	}
	idle := now.Add(a.opts.IdleTimeout).UTC().Truncate(time.Microsecond)
	if !deadline.IsZero() && deadline.Before(idle) {
		return deadline
	}
	return idle
}

// Verify checks a key obtained some other way than an HTTP request (a gRPC
// metadata entry, a WebSocket message) and returns its Principal. Errors
// are those of Check.
func (a *Authenticator) Verify(ctx context.Context, key string) (Principal, error) {
	if !a.wellFormed(key) {
		return Principal{}, ErrInvalidToken
	}
	return a.lookup(ctx, a.opts.Hasher.Digest(key), new([2]deadline.Context))
}

// wellFormed reports whether key has the shape of a token this
// Authenticator accepts, before any store is asked.
func (a *Authenticator) wellFormed(key string) bool {
	return keyformat.Valid(a.opts.Prefix, key) ||
		a.opts.AcceptLegacyKeys && keyformat.IsLegacy(key) ||
		a.opts.AcceptUUIDKeys && keyformat.IsUUID(key)
}

// lookup finds the token with the given digest and checks it. The store
// and loader calls are bounded by bounds[0] and bounds[1], unused until
// then: the middleware keeps them in its request context.
func (a *Authenticator) lookup(ctx context.Context, digest []byte, bounds *[2]deadline.Context) (Principal, error) {
	// One clock reading bounds the store call and checks the expiry:
	// time.Now costs as much as a lookup in memory. A token that expires
	// while Find runs is accepted, as it was valid when the request came.
	start := time.Now()
	t, err := a.find(bounds[0].BindAt(ctx, start, a.opts.StoreTimeout), digest)
	if err != nil {
		return Principal{}, err
	}
	// Defence in depth against a store that matches loosely.
	if subtle.ConstantTimeCompare(t.Digest, digest) != 1 {
		return Principal{}, ErrInvalidToken
	}
	now := start
	if !a.realClock {
		now = a.opts.Now()
	}
	if t.Expired(now) {
		return Principal{}, ErrExpired
	}
	p := Principal{Token: t}
	if a.opts.UserLoader != nil {
		if p.User, err = a.loadUser(bounds[1].Bind(ctx, a.opts.StoreTimeout), t.UserID); err != nil {
			return Principal{}, err
		}
	}
	a.touch(t, now)
	return p, nil
}

func (a *Authenticator) find(ctx *deadline.Context, digest []byte) (*Token, error) {
	defer ctx.Release()
	t, err := a.store.Find(ctx, digest)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, a.storeError(ctx.Context, "find", err)
	case t == nil:
		return nil, a.storeError(ctx.Context, "find", errors.New("store returned a nil token without an error"))
	}
	return t, nil
}

func (a *Authenticator) loadUser(ctx *deadline.Context, userID string) (any, error) {
	defer ctx.Release()
	u, err := a.opts.UserLoader(ctx, userID)
	switch {
	case errors.Is(err, ErrUserInactive) || errors.Is(err, ErrNotFound):
		return nil, ErrUserInactive
	case err != nil:
		return nil, a.storeError(ctx.Context, "load user", err)
	}
	return u, nil
}

// Revoke deletes the token with the given ID. It returns ErrNotFound if
// there is none, or an error wrapping ErrUnavailable.
func (a *Authenticator) Revoke(ctx context.Context, id string) error {
	sctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.store.Delete(sctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return a.storeError(ctx, "delete", err)
	}
	return nil
}

// RevokeAll deletes every token of userID and returns how many there were.
// Call it when the user's password changes or the account is closed, and
// from a "log out everywhere" endpoint (see LogoutAllHandler).
func (a *Authenticator) RevokeAll(ctx context.Context, userID string) (int, error) {
	sctx, cancel := a.bound(ctx)
	defer cancel()
	n, err := a.store.DeleteUser(sctx, userID)
	if err != nil {
		return 0, a.storeError(ctx, "delete user", err)
	}
	return n, nil
}

// RevokeOthers deletes every token of keep's user except keep itself ("log
// out other sessions") and returns how many it deleted.
func (a *Authenticator) RevokeOthers(ctx context.Context, keep *Token) (int, error) {
	if keep == nil {
		return 0, ErrInvalidToken
	}
	tokens, err := a.List(ctx, keep.UserID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tokens {
		if t.ID == keep.ID {
			continue
		}
		switch err := a.Revoke(ctx, t.ID); {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound):
			return n, err
		}
	}
	return n, nil
}

// List returns the tokens of userID, oldest first, for a page where users
// see and revoke their tokens.
func (a *Authenticator) List(ctx context.Context, userID string) ([]*Token, error) {
	sctx, cancel := a.bound(ctx)
	defer cancel()
	tokens, err := a.store.List(sctx, userID)
	if err != nil {
		return nil, a.storeError(ctx, "list", err)
	}
	return tokens, nil
}

// Rotate replaces old with a new token of the same user, name and scopes.
// The new token keeps old's expiry policy: an absolute deadline carries
// over unchanged, and an idle-expiring token gets now+IdleTimeout, so
// rotating never lengthens a token's life.
//
// With a positive grace, old keeps working until grace has passed (and
// never past its own expiry), so that clients holding it can switch over,
// then never again; with none it is revoked at once. The new token is
// stored before old is touched, so a failure never leaves the user with
// neither. It returns ErrInvalidToken if old was already revoked,
// ErrExpired if it has expired.
func (a *Authenticator) Rotate(ctx context.Context, old *Token, grace time.Duration) (string, *Token, error) {
	if old == nil {
		return "", nil, ErrInvalidToken
	}
	now := a.opts.Now()
	if old.Expired(now) {
		return "", nil, ErrExpired
	}
	deadline := old.MaxExpiresAt
	if deadline.IsZero() && a.opts.IdleTimeout <= 0 {
		// A record without MaxExpiresAt (an older or imported one): its
		// expiry is its deadline.
		deadline = old.ExpiresAt
	}
	key, err := keyformat.Generate(a.opts.Prefix)
	if err != nil {
		return "", nil, err
	}
	t, err := a.create(ctx, key, old.UserID, time.Time{}, IssueOptions{Name: old.Name, Scopes: old.Scopes}, deadline)
	if err != nil {
		return "", nil, err
	}
	if grace > 0 {
		err = a.expire(ctx, old, now.Add(grace).UTC().Truncate(time.Microsecond))
	} else {
		err = a.Revoke(ctx, old.ID)
	}
	if err != nil {
		// Undo, even if the caller has gone: it keeps the old token (or
		// none, if it was revoked).
		undo, release := a.bound(context.WithoutCancel(ctx))
		_ = a.store.Delete(undo, t.ID)
		release()
		if errors.Is(err, ErrNotFound) {
			return "", nil, ErrInvalidToken
		}
		return "", nil, err
	}
	return key, t, nil
}

// expire brings t's expiry forward to at, through the store's Expirer or
// else by storing t again with the earlier expiry. A store that wraps
// another (a cache) is an Expirer whatever it wraps, and says
// errors.ErrUnsupported when the wrapped store is not one.
func (a *Authenticator) expire(ctx context.Context, t *Token, at time.Time) error {
	sctx, cancel := a.bound(ctx)
	defer cancel()
	if e, ok := a.store.(Expirer); ok {
		switch err := e.Expire(sctx, t.ID, at); {
		case err == nil:
			return nil
		case errors.Is(err, ErrNotFound):
			return ErrNotFound
		case !errors.Is(err, errors.ErrUnsupported):
			return a.storeError(ctx, "expire", err)
		}
	}
	if err := a.Revoke(ctx, t.ID); err != nil {
		return err
	}
	early := t.Clone()
	if early.ExpiresAt.IsZero() || at.Before(early.ExpiresAt) {
		early.ExpiresAt = at
	}
	if early.MaxExpiresAt.IsZero() || at.Before(early.MaxExpiresAt) {
		early.MaxExpiresAt = at
	}
	if err := a.store.Create(sctx, early); err != nil && !errors.Is(err, ErrExists) {
		// The old key stopped early: the safe way to fail, and the new
		// key works.
		a.log.Failure(ctx, slog.LevelWarn, "keep rotated token for its grace period", err)
	}
	return nil
}

// bound returns ctx limited by StoreTimeout and the function that releases
// it.
func (a *Authenticator) bound(ctx context.Context) (context.Context, func()) {
	d := new(deadline.Context).Bind(ctx, a.opts.StoreTimeout)
	return d, d.Release
}

// storeError logs a store failure made on behalf of ctx and wraps it as
// ErrUnavailable.
func (a *Authenticator) storeError(ctx context.Context, op string, err error) error {
	a.log.Failure(ctx, slog.LevelError, op, err)
	return unavailable(err)
}
