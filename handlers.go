package tokenauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CredentialChecker verifies a username and password against the host's
// users. It returns the ID of the user to issue a token to or, when the
// password is wrong, the user unknown or inactive, an error wrapping
// ErrBadCredentials. The client gets the same answer in all three cases, so
// that it cannot learn which usernames exist. Any other error is an outage:
// the client gets 503 with Retry-After, the error is logged and never shown.
//
// The username arrives trimmed of surrounding whitespace; the password
// exactly as sent. Neither is empty, holds a NUL character or is invalid
// UTF-8.
//
// The checker should spend the same time on an unknown user as on a wrong
// password, or response times tell an attacker which usernames exist:
// when there is no such user, compare the password with a dummy hash. A
// checker over golang.org/x/crypto/bcrypt:
//
//	var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
//
//	func (s *Users) CheckCredentials(ctx context.Context, username, password string) (string, error) {
//		u, err := s.ByUsername(ctx, username)
//		if errors.Is(err, sql.ErrNoRows) {
//			_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // as slow as a wrong password
//			return "", tokenauth.ErrBadCredentials
//		}
//		if err != nil {
//			return "", err // the database is down: 503
//		}
//		// Any bcrypt error is a refusal: a mismatch, or a password over
//		// bcrypt's 72 bytes, which must not turn into a 503.
//		if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil || !u.Active {
//			return "", tokenauth.ErrBadCredentials
//		}
//		return u.ID, nil
//	}
type CredentialChecker interface {
	CheckCredentials(ctx context.Context, username, password string) (userID string, err error)
}

// CredentialCheckerFunc adapts a function to the CredentialChecker
// interface.
type CredentialCheckerFunc func(ctx context.Context, username, password string) (string, error)

// CheckCredentials calls f.
func (f CredentialCheckerFunc) CheckCredentials(ctx context.Context, username, password string) (string, error) {
	return f(ctx, username, password)
}

// ErrBadCredentials is what a CredentialChecker returns, possibly wrapped,
// for a wrong password, an unknown user or an inactive user. The login
// handler answers it with Django REST Framework's 400
// {"non_field_errors": ["Unable to log in with provided credentials."]}.
var ErrBadCredentials = errors.New("tokenauth: unable to log in with provided credentials")

// Login responses that have no counterpart in DRF's error messages.
const (
	// DetailTooManyTokens answers a login refused because the user already
	// holds LoginOptions.MaxTokensPerUser login tokens (django-rest-knox's
	// words, with status 403).
	DetailTooManyTokens = "Maximum amount of tokens allowed per user exceeded."
	// DetailBodyTooLarge answers a login body over LoginOptions.MaxBodyBytes
	// (413).
	DetailBodyTooLarge = "Request body too large."

	detailBadCredentials = "Unable to log in with provided credentials."
)

// DefaultMaxLoginBodyBytes is the default of LoginOptions.MaxBodyBytes.
const DefaultMaxLoginBodyBytes = 64 << 10

// LoginOptions configures a LoginHandler. The zero value issues never-
// expiring (or Options.DefaultTTL) tokens named "login", limits bodies to
// 64 KiB and throttles failed attempts with NewLimiter's defaults.
type LoginOptions struct {
	// TokenName is the Name of tokens issued at login. Default "login".
	TokenName string

	// Scopes are the scopes of tokens issued at login. Default none.
	Scopes []string

	// TTL is the lifetime of tokens issued at login; zero means the
	// Authenticator's DefaultTTL (and IdleTimeout).
	TTL time.Duration

	// MaxBodyBytes bounds the request body; a larger one gets 413.
	// Default DefaultMaxLoginBodyBytes (64 KiB).
	MaxBodyBytes int64

	// Limiter throttles login attempts. Default NewLimiter(LimiterOptions{}),
	// a limiter of failed attempts private to this handler; NoLimit turns
	// throttling off.
	Limiter Limiter

	// ClientIP returns the client address that attempts are counted by.
	// Default: the host part of r.RemoteAddr. Behind a reverse proxy every
	// client shares the proxy's address; see ForwardedFor.
	ClientIP func(*http.Request) string

	// MaxTokensPerUser, when positive, bounds how many unexpired login
	// tokens (tokens named TokenName) a user may hold. Tokens with other
	// names, made for scripts or devices, are neither counted nor revoked.
	// Under concurrent logins of one user the bound may be passed by a
	// token or two until the next login. Default 0: unlimited.
	MaxTokensPerUser int

	// RefuseOverMax chooses what a login over MaxTokensPerUser does: false
	// (the default) revokes the user's oldest login tokens to make room;
	// true refuses the login with 403 {"detail": DetailTooManyTokens} and
	// leaves existing tokens alone.
	RefuseOverMax bool
}

// LoginHandler is the login endpoint, the counterpart of Django REST
// Framework's obtain_auth_token: it trades a username and password for a
// new token. Create one with NewLoginHandler; it is safe for concurrent use.
//
// It accepts POST only (OPTIONS gets 204 and Allow; other methods 405),
// with a body in application/json, application/x-www-form-urlencoded or
// multipart/form-data holding the fields "username" and "password". Other
// media types get 415, and a charset other than UTF-8 is refused with 415
// rather than risk decoding a password wrongly. Invalid input gets DRF's
// 400 bodies: "This field is required.", "This field may not be blank.",
// "This field may not be null.", "Not a valid string." (JSON booleans,
// arrays and objects; numbers are taken as their decimal text, as DRF
// does), "Null characters are not allowed.", a JSON parse error, and the
// one answer for every refused login:
//
//	{"non_field_errors": ["Unable to log in with provided credentials."]}
//
// Success is 200 {"token": "<key>"}, plus "expiry" (RFC 3339, UTC) when the
// token expires. Every answer carries Cache-Control: no-store.
//
// Unlike DRF, which stores keys in plaintext and hands the same key to
// every login, tokenauth keeps only digests: each login issues a new token
// (as django-rest-knox does), so one user may hold many; see
// LoginOptions.MaxTokensPerUser.
//
// The body is read through http.MaxBytesReader, so the server's
// ReadTimeout still bounds a slow client: set it on the http.Server.
// Failed attempts are throttled through LoginOptions.Limiter: 429 with
// Retry-After and DRF's body
// {"detail": "Request was throttled. Expected available in N seconds."}.
type LoginHandler struct {
	auth          *Authenticator
	checker       CredentialChecker
	issue         IssueOptions
	maxBody       int64
	limiter       Limiter
	clientIP      func(*http.Request) string
	maxTokens     int
	refuseOverMax bool
}

// NewLoginHandler returns the login endpoint of a, which checks passwords
// with checker. It returns an error wrapping ErrInvalidOptions when an
// argument is missing or opts are invalid.
func NewLoginHandler(a *Authenticator, checker CredentialChecker, opts LoginOptions) (*LoginHandler, error) {
	switch {
	case a == nil:
		return nil, fmt.Errorf("%w: NewLoginHandler: Authenticator is nil", ErrInvalidOptions)
	case checker == nil:
		return nil, fmt.Errorf("%w: NewLoginHandler: CredentialChecker is nil", ErrInvalidOptions)
	case opts.TTL < 0 || opts.MaxBodyBytes < 0 || opts.MaxTokensPerUser < 0:
		return nil, fmt.Errorf("%w: LoginOptions: TTL, MaxBodyBytes and MaxTokensPerUser must not be negative", ErrInvalidOptions)
	case opts.RefuseOverMax && opts.MaxTokensPerUser == 0:
		return nil, fmt.Errorf("%w: LoginOptions: RefuseOverMax needs MaxTokensPerUser", ErrInvalidOptions)
	}
	h := &LoginHandler{
		auth:          a,
		checker:       checker,
		issue:         IssueOptions{Name: opts.TokenName, Scopes: slices.Clone(opts.Scopes), TTL: opts.TTL},
		maxBody:       opts.MaxBodyBytes,
		limiter:       opts.Limiter,
		clientIP:      opts.ClientIP,
		maxTokens:     opts.MaxTokensPerUser,
		refuseOverMax: opts.RefuseOverMax,
	}
	if h.issue.Name == "" {
		h.issue.Name = "login"
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxLoginBodyBytes
	}
	if h.limiter == nil {
		var err error
		if h.limiter, err = NewLimiter(LimiterOptions{}); err != nil {
			return nil, err
		}
	}
	if h.clientIP == nil {
		h.clientIP = remoteHost
	}
	return h, nil
}

// loginResponse is the body of a successful login.
type loginResponse struct {
	Token  string `json:"token"`
	Expiry string `json:"expiry,omitempty"`
}

// ServeHTTP implements http.Handler.
func (h *LoginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if !allowPost(w, r) {
		return
	}
	in, derr := decodeLogin(w, r, h.maxBody)
	if derr != nil {
		WriteDetail(w, derr.status, derr.detail)
		return
	}
	username, password, fieldErrs := in.validate()
	if fieldErrs != nil {
		WriteJSON(w, http.StatusBadRequest, fieldErrs)
		return
	}

	ctx := r.Context()
	key := LimitKey{Addr: h.clientIP(r), Username: username}
	if wait, ok := h.limiter.Allow(ctx, key); !ok {
		writeThrottled(w, wait)
		return
	}
	userID, err := h.checker.CheckCredentials(ctx, username, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		h.limiter.Done(ctx, key, LoginFailed)
		WriteJSON(w, http.StatusBadRequest, &loginErrors{NonField: []string{detailBadCredentials}})
		return
	case err == nil && userID == "":
		err = errors.New("CredentialChecker returned an empty user ID and no error")
		fallthrough
	case err != nil:
		h.limiter.Done(ctx, key, LoginErrored)
		// The error is the host's: its text is logged, never sent, and
		// the password is masked in case the host's error quotes it.
		h.auth.logger.LogAttrs(ctx, slog.LevelError, "tokenauth: credential check failed",
			slog.String("error", strings.ReplaceAll(err.Error(), password, "[password]")))
		h.auth.Error(w, r, unavailable(err))
		return
	}
	h.limiter.Done(ctx, key, LoginSucceeded)

	if h.maxTokens > 0 && h.refuseOverMax {
		live, err := h.loginTokens(ctx, userID)
		if err != nil {
			h.auth.Error(w, r, err)
			return
		}
		if len(live) >= h.maxTokens {
			WriteDetail(w, http.StatusForbidden, DetailTooManyTokens)
			return
		}
	}
	plaintext, t, err := h.auth.Issue(ctx, userID, h.issue)
	if err != nil {
		h.auth.Error(w, r, err)
		return
	}
	if h.maxTokens > 0 && !h.refuseOverMax {
		h.trimTokens(ctx, t)
	}
	resp := loginResponse{Token: plaintext}
	if !t.ExpiresAt.IsZero() {
		resp.Expiry = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	WriteJSON(w, http.StatusOK, resp)
}

// loginTokens returns userID's unexpired login tokens, oldest first.
func (h *LoginHandler) loginTokens(ctx context.Context, userID string) ([]*Token, error) {
	all, err := h.auth.store.List(ctx, userID)
	if err != nil {
		return nil, h.auth.storeError("list", err)
	}
	now := h.auth.now()
	live := all[:0:0]
	for _, t := range all {
		if t.Name == h.issue.Name && !t.Expired(now) {
			live = append(live, t)
		}
	}
	return live, nil
}

// trimTokens revokes the oldest login tokens of issued's user until at most
// MaxTokensPerUser remain, never issued itself. It runs after the new token
// is stored, so concurrent logins of one user settle on the newest tokens.
// A failure is logged and the login still succeeds: the limit is
// housekeeping, and the next login trims again.
func (h *LoginHandler) trimTokens(ctx context.Context, issued *Token) {
	live, err := h.loginTokens(ctx, issued.UserID)
	if err != nil {
		return // logged by storeError
	}
	live = slices.DeleteFunc(live, func(t *Token) bool { return t.ID == issued.ID })
	for _, t := range live[:max(0, len(live)-(h.maxTokens-1))] {
		if err := h.auth.Revoke(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return // logged by storeError
		}
	}
}

// writeThrottled answers 429 as Django REST Framework's Throttled
// exception does.
func writeThrottled(w http.ResponseWriter, wait time.Duration) {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	n := strconv.FormatInt(secs, 10)
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	w.Header().Set("Retry-After", n)
	WriteDetail(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+n+unit)
}

// allowPost lets POST through. It answers OPTIONS with 204 and the Allow
// header, and any other method with Django REST Framework's 405.
func allowPost(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodPost:
		return true
	case http.MethodOptions:
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		WriteDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
	}
	return false
}

// LogoutHandler returns the logout endpoint: a POST revokes the token that
// authenticated it and gets 204 No Content. Mount it behind Require, which
// puts the token in the request context:
//
//	mux.Handle("/auth/logout", a.Require(a.LogoutHandler()))
//
// Mounted on its own it authenticates the request itself, so it is safe
// either way. A token already revoked (by a concurrent logout) still gets
// 204; a store outage gets 503.
func (a *Authenticator) LogoutHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		if err := a.Revoke(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
}

// LogoutAllHandler returns the "log out everywhere" endpoint: a POST
// revokes every token of the user whose token authenticated it, that token
// included, and gets 204 No Content. Mount it behind Require:
//
//	mux.Handle("/auth/logout-all", a.Require(a.LogoutAllHandler()))
//
// Mounted on its own it authenticates the request itself.
func (a *Authenticator) LogoutAllHandler() http.Handler {
	return a.logoutHandler(func(ctx context.Context, t *Token) error {
		_, err := a.RevokeAll(ctx, t.UserID)
		return err
	})
}

func (a *Authenticator) logoutHandler(revoke func(context.Context, *Token) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		t, ok := FromContext(r.Context())
		if !ok {
			p, err := a.Authenticate(r)
			if err != nil {
				a.Error(w, r, err)
				return
			}
			t = p.Token
		}
		if err := revoke(r.Context(), t); err != nil {
			a.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// The rest of this file decodes a login body the way Django REST
// Framework's parsers and AuthTokenSerializer do.

// detailError is a request the login handler answers with {"detail": ...}.
type detailError struct {
	status int
	detail string
}

var errBodyTooLarge = &detailError{http.StatusRequestEntityTooLarge, DetailBodyTooLarge}

// loginErrors is DRF's validation error body, fields in declaration order.
type loginErrors struct {
	Username []string `json:"username,omitempty"`
	Password []string `json:"password,omitempty"`
	NonField []string `json:"non_field_errors,omitempty"`
}

type fieldKind uint8

const (
	fieldMissing   fieldKind = iota
	fieldNull                // JSON null
	fieldNotString           // a JSON boolean, array or object, or a multipart file
	fieldString
)

type loginField struct {
	kind  fieldKind
	value string
}

// loginInput is a decoded body. notObject, when set, is the error for a
// JSON body that is not an object.
type loginInput struct {
	username, password loginField
	notObject          string
}

// validate applies DRF's CharField rules: the username is trimmed, the
// password is not; neither may be blank or hold a NUL character.
func (in *loginInput) validate() (username, password string, errs *loginErrors) {
	if in.notObject != "" {
		return "", "", &loginErrors{NonField: []string{in.notObject}}
	}
	username, uerr := in.username.check(true)
	password, perr := in.password.check(false)
	if uerr == "" && perr == "" {
		return username, password, nil
	}
	errs = &loginErrors{}
	if uerr != "" {
		errs.Username = []string{uerr}
	}
	if perr != "" {
		errs.Password = []string{perr}
	}
	return "", "", errs
}

func (f loginField) check(trim bool) (string, string) {
	switch f.kind {
	case fieldMissing:
		return "", "This field is required."
	case fieldNull:
		return "", "This field may not be null."
	case fieldNotString:
		return "", "Not a valid string."
	}
	v := f.value
	if trim {
		v = strings.TrimFunc(v, isPySpace)
	}
	if v == "" {
		return "", "This field may not be blank."
	}
	if strings.IndexByte(v, 0) >= 0 {
		return "", "Null characters are not allowed."
	}
	return v, ""
}

// isPySpace matches the characters Python's str.strip removes: Unicode
// white space and the four ASCII information separators.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// decodeLogin reads and decodes the body of r.
func decodeLogin(w http.ResponseWriter, r *http.Request, maxBytes int64) (loginInput, *detailError) {
	body, derr := readBody(w, r, maxBytes)
	if derr != nil {
		return loginInput{}, derr
	}
	if len(body) == 0 {
		// DRF parses an empty body as empty data, whatever its media type.
		return loginInput{}, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt = ""
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") && !strings.EqualFold(cs, "us-ascii") {
		mt = ""
	}
	switch mt {
	case "application/json":
		return decodeJSON(body)
	case "application/x-www-form-urlencoded":
		return decodeForm(body), nil
	case "multipart/form-data":
		return decodeMultipart(body, params["boundary"], maxBytes)
	}
	return loginInput{}, &detailError{http.StatusUnsupportedMediaType, `Unsupported media type "` + ct + `" in request.`}
}

// readBody reads at most maxBytes of r's body.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *detailError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > maxBytes {
		return nil, errBodyTooLarge
	}
	// MaxBytesReader also tells the server to close the connection when a
	// client sends more than it announced.
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	var buf []byte
	var err error
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errBodyTooLarge
	case err != nil:
		return nil, &detailError{http.StatusBadRequest, "Could not read the request body."}
	}
	return buf, nil
}

// decodeJSON decodes an application/json body.
func decodeJSON(body []byte) (loginInput, *detailError) {
	// Refuse what Python's decoder refuses, rather than let encoding/json
	// turn a mis-encoded password into U+FFFD.
	if i := invalidUTF8(body); i >= 0 {
		return loginInput{}, &detailError{http.StatusBadRequest, "JSON parse error - invalid UTF-8" + at(body, i)}
	}
	var obj map[string]json.RawMessage
	err := json.Unmarshal(body, &obj)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		// Valid JSON, but not an object.
		return loginInput{notObject: "Invalid data. Expected a dictionary, but got " + pyTypeName(body) + "."}, nil
	case err != nil:
		return loginInput{}, &detailError{http.StatusBadRequest, "JSON parse error - " + jsonReason(body, err)}
	case obj == nil:
		return loginInput{notObject: "No data provided"}, nil
	}
	return loginInput{username: jsonField(obj, "username"), password: jsonField(obj, "password")}, nil
}

// jsonField converts a JSON value as DRF's CharField does: strings as they
// are, numbers as Python's str() writes them, null apart, anything else
// refused.
func jsonField(obj map[string]json.RawMessage, name string) loginField {
	raw, ok := obj[name]
	if !ok {
		return loginField{}
	}
	switch raw[0] {
	case 'n':
		return loginField{kind: fieldNull}
	case 't', 'f', '[', '{':
		return loginField{kind: fieldNotString}
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return loginField{kind: fieldNotString} // unreachable: the body was valid
		}
		return loginField{kind: fieldString, value: s}
	}
	return loginField{kind: fieldString, value: pyNumber(string(raw))}
}

// pyNumber formats a JSON number literal as Python's str() does after
// json.loads: integers exactly, floats in their shortest repr form.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0"
		}
		return lit
	}
	f, _ := strconv.ParseFloat(lit, 64) // valid JSON; out of range gives ±Inf, as in Python
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	// repr switches to exponent form for decimal exponents below -4 or
	// from 16 on; Go's 'e' format writes the exponent as Python does.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyTypeName names the Python type of a valid, non-object JSON document.
func pyTypeName(body []byte) string {
	body = bytes.TrimLeft(body, " \t\r\n")
	switch body[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	}
	if bytes.ContainsAny(bytes.TrimRight(body, " \t\r\n"), ".eE") {
		return "float"
	}
	return "int"
}

// jsonReason describes a JSON syntax error and where it is, without the
// offending character, which may belong to the password.
func jsonReason(body []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return "invalid JSON"
	}
	msg := se.Error()
	if rest, ok := strings.CutPrefix(msg, "invalid character "); ok {
		msg = "invalid character"
		if i := strings.Index(rest, "' "); strings.HasPrefix(rest, "'") && i > 0 {
			msg += rest[i+1:]
		}
	} else if strings.ContainsAny(msg, `'"`) {
		msg = "invalid JSON"
	}
	pos := int(min(max(se.Offset-1, 0), int64(len(body))))
	if strings.HasPrefix(msg, "unexpected end") {
		pos = len(body)
	}
	return msg + at(body, pos)
}

// at gives the line and column (in characters) of byte pos of body.
func at(body []byte, pos int) string {
	line := 1 + bytes.Count(body[:pos], []byte{'\n'})
	col := 1 + utf8.RuneCount(body[bytes.LastIndexByte(body[:pos], '\n')+1:pos])
	return fmt.Sprintf(" (line %d, column %d)", line, col)
}

// invalidUTF8 returns the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// decodeForm decodes an application/x-www-form-urlencoded body leniently,
// as Django does: a malformed escape stays as written, invalid UTF-8
// becomes U+FFFD, and the last of repeated fields wins.
func decodeForm(body []byte) loginInput {
	var in loginInput
	s := string(body)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		switch formUnescape(k) {
		case "username":
			in.username = loginField{kind: fieldString, value: formUnescape(v)}
		case "password":
			in.password = loginField{kind: fieldString, value: formUnescape(v)}
		}
	}
	return in
}

// formUnescape decodes '+' and %XX escapes, leaving malformed escapes as
// they are, and replaces invalid UTF-8.
func formUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// decodeMultipart decodes a multipart/form-data body already read into
// memory. A file part named like a field is "Not a valid string.", as in
// DRF, where uploaded files join the data.
func decodeMultipart(body []byte, boundary string, maxBytes int64) (loginInput, *detailError) {
	if boundary == "" {
		return loginInput{}, &detailError{http.StatusBadRequest, "Multipart form parse error - Invalid boundary in multipart: None"}
	}
	// The body is at most maxBytes, so with that much memory no part is
	// written to a temporary file; RemoveAll is there regardless.
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxBytes)
	switch {
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return loginInput{}, errBodyTooLarge
	case err != nil:
		// Go's messages quote the input; say only what went wrong.
		return loginInput{}, &detailError{http.StatusBadRequest, "Multipart form parse error - malformed multipart body"}
	}
	defer form.RemoveAll()
	field := func(name string) loginField {
		if len(form.File[name]) > 0 {
			return loginField{kind: fieldNotString}
		}
		if v := form.Value[name]; len(v) > 0 {
			return loginField{kind: fieldString, value: strings.ToValidUTF8(v[len(v)-1], "\uFFFD")}
		}
		return loginField{}
	}
	return loginInput{username: field("username"), password: field("password")}, nil
}
