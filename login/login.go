package login

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/deadline"
	"github.com/go-tokenauth/tokenauth/internal/failurelog"
	"github.com/go-tokenauth/tokenauth/login/internal/form"
)

// Handler is the login endpoint, the counterpart of Django REST
// Framework's obtain_auth_token: it trades a username and password for a
// new token. Create one with New; it is safe for concurrent use.
//
// It accepts POST only (OPTIONS gets 204 and Allow; other methods 405),
// with a body in application/json, application/x-www-form-urlencoded or
// multipart/form-data holding the fields "username" and "password". Other
// media types get 415, and a charset other than UTF-8 is refused with 415
// rather than risk decoding a password wrongly. Invalid input gets DRF's
// 400 bodies ("This field is required.", "This field may not be blank.",
// "This field may not be null.", "Not a valid string." for JSON values
// that are neither strings nor numbers, "Null characters are not
// allowed.", {"detail": "JSON parse error - ..."}), and every refused login
// the same one:
//
//	{"non_field_errors": ["Unable to log in with provided credentials."]}
//
// Success is 200 {"token": "<key>"}, plus "expiry" (RFC 3339, UTC) when the
// token expires. Every answer carries Cache-Control: no-store and
// X-Content-Type-Options: nosniff.
//
// Unlike DRF, which stores keys in plaintext and hands the same key to
// every login, tokenauth keeps only digests: each login issues a new token
// (as django-rest-knox does), so one user may hold many; see
// Options.MaxTokensPerUser.
//
// The body is read through http.MaxBytesReader, so the server's
// ReadTimeout still bounds a slow client: set it on the http.Server.
// Attempts are throttled through Options.Limiter: 429 with Retry-After and
// DRF's body {"detail": "Request was throttled. Expected available in N
// seconds."}. A checker or store failure, or a call past Options.Timeout,
// gets 503 with Retry-After, as the Authenticator renders outages.
type Handler struct {
	auth          *tokenauth.Authenticator
	checker       CredentialChecker
	issue         tokenauth.IssueOptions
	maxBody       int64
	limiter       Limiter
	clientAddr    func(*http.Request) string
	canonical     func(string) string
	devices       *devices
	onLogin       func(ctx context.Context, outcome string, took time.Duration)
	maxTokens     int
	refuseOverMax bool
	timeout       time.Duration
	log           *failurelog.Log
	now           func() time.Time
}

// defaultMaxTokens is how many login tokens a user keeps by default: a
// phone, a laptop, a few browsers.
const defaultMaxTokens = 10

// New returns the login endpoint of a, which checks passwords with
// checker. It returns an error wrapping tokenauth.ErrInvalidOptions when
// an argument is missing or opts are invalid.
func New(a *tokenauth.Authenticator, checker CredentialChecker, opts Options) (*Handler, error) {
	switch {
	case a == nil:
		return nil, fmt.Errorf("%w: login.New: Authenticator is nil", tokenauth.ErrInvalidOptions)
	case checker == nil:
		return nil, fmt.Errorf("%w: login.New: CredentialChecker is nil", tokenauth.ErrInvalidOptions)
	case opts.TTL < 0 || opts.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: login.Options: TTL and MaxBodyBytes must not be negative", tokenauth.ErrInvalidOptions)
	case opts.RefuseOverMax && opts.MaxTokensPerUser < 0:
		return nil, fmt.Errorf("%w: login.Options: RefuseOverMax needs MaxTokensPerUser", tokenauth.ErrInvalidOptions)
	}
	devices, err := newDevices(opts.DeviceKey)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		auth:          a,
		checker:       checker,
		issue:         tokenauth.IssueOptions{Name: opts.TokenName, Scopes: slices.Clone(opts.Scopes), TTL: opts.TTL},
		maxBody:       cmp.Or(opts.MaxBodyBytes, 64<<10),
		limiter:       opts.Limiter,
		clientAddr:    opts.ClientAddr,
		canonical:     opts.Canonical,
		devices:       devices,
		onLogin:       opts.OnLogin,
		maxTokens:     max(cmp.Or(opts.MaxTokensPerUser, defaultMaxTokens), 0),
		refuseOverMax: opts.RefuseOverMax,
		timeout:       cmp.Or(opts.Timeout, 5*time.Second),
		now:           opts.Now,
	}
	if h.issue.Name == "" {
		h.issue.Name = "login"
	}
	if h.clientAddr == nil {
		h.clientAddr = authClientAddr(a)
	}
	if h.canonical == nil {
		h.canonical = FoldUsername
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.log = failurelog.New(cmp.Or(opts.Logger, slog.Default()), "tokenauth/login: failure")
	if h.limiter == nil {
		if h.limiter, err = NewMemoryLimiter(MemoryLimiterOptions{Now: opts.Now}); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.onLogin == nil {
		h.serve(w, r)
		return
	}
	start := time.Now()
	if outcome := h.serve(w, r); outcome != "" {
		h.onLogin(r.Context(), outcome, time.Since(start))
	}
}

// Outcomes of a login, for Options.OnLogin.
const (
	outcomeSuccess        = "success"
	outcomeBadCredentials = "bad_credentials"
	outcomeThrottled      = "throttled"
	outcomeInvalid        = "invalid_request"
	outcomeTooMany        = "too_many_tokens"
	outcomeUnavailable    = "unavailable"
)

// serve is ServeHTTP; it returns the outcome of a login attempt, "" for a
// request that was none (OPTIONS, another method).
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) string {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		hdr.Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return ""
	default:
		hdr.Set("Allow", "POST, OPTIONS")
		writeDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
		return ""
	}
	vals, ferr := form.Read(w, r, h.maxBody, "username", "password")
	if ferr != nil {
		if ferr.NonField {
			writeJSON(w, ferr.Status, &fieldErrors{NonField: []string{ferr.Detail}})
		} else {
			writeDetail(w, ferr.Status, ferr.Detail)
		}
		return outcomeInvalid
	}
	username, uerr := vals["username"].Char(true)
	password, perr := vals["password"].Char(false)
	if uerr != "" || perr != "" {
		var errs fieldErrors
		if uerr != "" {
			errs.Username = []string{uerr}
		}
		if perr != "" {
			errs.Password = []string{perr}
		}
		writeJSON(w, http.StatusBadRequest, &errs)
		return outcomeInvalid
	}

	key := LimitKey{Addr: h.clientAddr(r), Username: h.canonical(username)}
	key.Device = h.devices.id(r, key.Username, h.now())
	actx, cancel := h.withTimeout(r.Context()) // a limiter over a remote store may hang too
	wait, ok := h.limiter.Allow(actx, key)
	cancel()
	if !ok {
		writeThrottled(w, wait)
		return outcomeThrottled
	}
	// A password change (RevokeAll) made while the check runs must void
	// the token this login issues: it is dated from before the check.
	began := h.now()
	grant, err := h.check(r.Context(), key, username, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		writeJSON(w, http.StatusBadRequest, badCredentials)
		return outcomeBadCredentials
	case err != nil:
		h.fail(w, r, "credential check", err)
		return outcomeUnavailable
	}
	return h.login(w, r, grant, began, key)
}

// check asks the checker, within the timeout, and reports the outcome to
// the limiter.
func (h *Handler) check(ctx context.Context, key LimitKey, username, password string) (grant Grant, err error) {
	outcome := Errored
	// Deferred, so that a checker that panics still frees its slot; the
	// outcome counts even if the client has gone.
	defer func() {
		dctx, cancel := h.withTimeout(context.WithoutCancel(ctx))
		defer cancel()
		h.limiter.Done(dctx, key, outcome)
	}()
	cctx, cancel := h.withTimeout(ctx)
	defer cancel()
	grant, err = h.checker.CheckCredentials(cctx, username, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		outcome = Failed
		return Grant{}, ErrBadCredentials
	case err == nil && grant.UserID == "":
		err = errors.New("CredentialChecker returned an empty user ID and no error")
	case err == nil && grant.TTL < 0:
		err = errors.New("CredentialChecker returned a negative TTL")
	case err == nil:
		outcome = Succeeded
		return grant, nil
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s: %w", h.timeout, err)
	}
	// The error is the host's and may quote the password.
	return Grant{}, masked{err, password}
}

// login issues the token of a user whose credentials were accepted when
// the check began.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, g Grant, began time.Time, from LimitKey) string {
	ctx := r.Context()
	issue := h.issue
	issue.CreatedAt = began
	// What the user is shown in a list of their sessions (cut to 256
	// bytes by Issue).
	issue.CreatedFrom, issue.UserAgent = from.Addr, r.UserAgent()
	if g.Scopes != nil {
		issue.Scopes = slices.Clone(g.Scopes)
	}
	issue.Name = cmp.Or(g.TokenName, issue.Name)
	issue.TTL = cmp.Or(g.TTL, issue.TTL)
	if h.maxTokens > 0 && h.refuseOverMax {
		live, err := h.loginTokens(ctx, g.UserID, issue.Name)
		if err != nil {
			h.fail(w, r, "listing tokens", err)
			return outcomeUnavailable
		}
		if len(live) >= h.maxTokens {
			writeDetail(w, http.StatusForbidden, "Maximum amount of tokens allowed per user exceeded.")
			return outcomeTooMany
		}
	}
	ictx, cancel := h.withTimeout(ctx)
	key, t, err := h.auth.Issue(ictx, g.UserID, issue)
	cancel()
	switch {
	case errors.Is(err, tokenauth.ErrRevoked):
		// The user's tokens were revoked while the password was checked:
		// a password change; the password this login proved is stale.
		writeJSON(w, http.StatusBadRequest, badCredentials)
		return outcomeBadCredentials
	case err != nil:
		h.fail(w, r, "issuing a token", err)
		return outcomeUnavailable
	}
	if h.maxTokens > 0 && !h.refuseOverMax {
		h.trimTokens(ctx, t)
	}
	h.devices.remember(w, from.Username, h.now())
	resp := struct {
		Token  string `json:"token"`
		Expiry string `json:"expiry,omitempty"`
	}{Token: key}
	if !t.ExpiresAt.IsZero() {
		resp.Expiry = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, &resp)
	return outcomeSuccess
}

// fail answers an outage with 503 and Retry-After, and logs it: at debug
// level when the client hung up, which says nothing about the service,
// else at most once a second. err is already masked.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.Failure(r.Context(), slog.LevelError, "login: "+op, err)
	if !errors.Is(err, tokenauth.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err)
	}
	h.auth.Error(w, r, err)
}

// withTimeout bounds a call by Options.Timeout (none if negative), as the
// Authenticator bounds its store calls (package deadline).
func (h *Handler) withTimeout(ctx context.Context) (context.Context, func()) {
	d := new(deadline.Context).Bind(ctx, h.timeout)
	return d, d.Release
}

// masked is an error whose text has a secret replaced.
type masked struct {
	err    error
	secret string
}

func (e masked) Error() string { return strings.ReplaceAll(e.err.Error(), e.secret, "[password]") }
func (e masked) Unwrap() error { return e.err }
