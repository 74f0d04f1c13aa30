package demoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

// Sign-up rules: Django's username rules, Django's default minimum
// password length, and bcrypt's maximum.
const (
	maxUsernameLen   = 150 // characters
	minPasswordLen   = 8   // characters
	maxPasswordBytes = 72
	maxSignupBody    = 16 << 10
)

// Validation messages, in Django's and DRF's words where they have one.
const (
	msgRequired        = "This field is required."
	msgNull            = "This field may not be null."
	msgNotString       = "Not a valid string."
	msgBlank           = "This field may not be blank."
	msgNullChar        = "Null characters are not allowed."
	msgUsernameTooLong = "Ensure this field has no more than 150 characters."
	msgUsernameChars   = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	msgUsernameTaken   = "A user with that username already exists."
	msgPasswordShort   = "This password is too short. It must contain at least 8 characters."
	msgPasswordLong    = "This password is too long. It must contain at most 72 bytes."
)

// FieldErrors is a rejected request in Django REST Framework's shape: each
// field's problems, as in {"username": ["This field is required."]}.
type FieldErrors map[string][]string

// Error lists the problems, fields in alphabetical order; it never holds
// the values sent.
func (e FieldErrors) Error() string {
	fields := make([]string, 0, len(e))
	for f := range e {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	var b strings.Builder
	b.WriteString("demoapp: invalid sign-up:")
	for _, f := range fields {
		b.WriteString(" " + f + ": " + strings.Join(e[f], " "))
	}
	return b.String()
}

// Signup creates an active user and issues its first token, in one call:
// what a DRF service does in a post_save signal. It returns the token's
// plaintext and the user, or FieldErrors for a username or password the
// rules refuse or a username already taken. The username is trimmed of
// surrounding white space; the password is kept as given. If the token
// cannot be issued, the user is removed again, so that a retry can succeed.
func (a *App) Signup(ctx context.Context, username, password string) (string, *User, error) {
	username = strings.TrimSpace(username)
	if errs := validateSignup(username, password); errs != nil {
		return "", nil, errs
	}
	taken := FieldErrors{"username": {msgUsernameTaken}}
	// Asking first spares the bcrypt work for a taken name; Create still
	// settles a race between two sign-ups.
	switch _, _, err := a.Users.byUsername(ctx, username); {
	case err == nil:
		return "", nil, taken
	case !errors.Is(err, errNoUser):
		return "", nil, err
	}
	u, err := a.Users.Create(ctx, username, password, true)
	switch {
	case errors.Is(err, ErrUsernameTaken):
		return "", nil, taken
	case err != nil:
		return "", nil, err
	}
	key, _, err := a.Auth.Issue(ctx, u.ID, tokenauth.IssueOptions{Name: "signup"})
	if err != nil {
		if delErr := a.Users.Delete(context.WithoutCancel(ctx), u.ID); delErr != nil {
			err = errors.Join(err, delErr)
		}
		return "", nil, err
	}
	return key, u, nil
}

// validateSignup applies the username and password rules.
func validateSignup(username, password string) FieldErrors {
	errs := FieldErrors{}
	switch {
	case username == "":
		errs["username"] = []string{msgBlank}
	case utf8.RuneCountInString(username) > maxUsernameLen:
		errs["username"] = []string{msgUsernameTooLong}
	case strings.IndexFunc(username, notUsernameRune) >= 0:
		errs["username"] = []string{msgUsernameChars}
	}
	switch {
	case password == "":
		errs["password"] = []string{msgBlank}
	case strings.IndexByte(password, 0) >= 0:
		errs["password"] = []string{msgNullChar}
	case utf8.RuneCountInString(password) < minPasswordLen:
		errs["password"] = []string{msgPasswordShort}
	case len(password) > maxPasswordBytes:
		errs["password"] = []string{msgPasswordLong}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// notUsernameRune is true outside Django's username alphabet: letters,
// digits and @ . + - _.
func notUsernameRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !strings.ContainsRune("@.+-_", r)
}

// signupResponse is the body of a successful sign-up.
type signupResponse struct {
	Token string `json:"token"`
	User  string `json:"user"`
}

// SignupHandler returns the sign-up endpoint, POST /api/signup/. It takes
// "username" and "password" in a JSON object or an HTML form
// (application/x-www-form-urlencoded), creates the user, issues its first
// token and answers 201 {"token": "…", "user": "<username>"}. Invalid
// input gets 400 with DRF's field errors, among them
// {"username": ["A user with that username already exists."]}. Bodies over
// 16 KiB get 413. Sign-ups are throttled per client address as
// Config.LoginLimit says (429 with Retry-After). Every answer carries
// Cache-Control: no-store.
func (a *App) SignupHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodPost:
		case http.MethodOptions:
			w.Header().Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			w.Header().Set("Allow", "POST, OPTIONS")
			tokenauth.WriteDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
			return
		}
		username, password, err := decodeSignup(w, r)
		if err != nil {
			writeRequestError(w, err)
			return
		}
		ctx := r.Context()
		key := login.LimitKey{Addr: clientAddr(r)}
		if wait, ok := a.signupLimits.Allow(ctx, key); !ok {
			writeThrottled(w, wait)
			return
		}
		token, u, err := a.Signup(ctx, username, password)
		// Every sign-up counts against the address, accepted or not: each
		// one costs a bcrypt hash.
		a.signupLimits.Done(ctx, key, login.Failed)
		var fieldErrs FieldErrors
		switch {
		case errors.As(err, &fieldErrs):
			tokenauth.WriteJSON(w, http.StatusBadRequest, fieldErrs)
		case err != nil:
			a.Logger.LogAttrs(ctx, slog.LevelError, "sign-up failed", slog.String("error", err.Error()))
			a.Auth.Error(w, r, fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err))
		default:
			tokenauth.WriteJSON(w, http.StatusCreated, signupResponse{Token: token, User: u.Username})
		}
	})
}

// requestError is a request answered with {"detail": …}.
type requestError struct {
	status int
	detail string
}

func (e *requestError) Error() string { return e.detail }

func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		tokenauth.WriteDetail(w, re.status, re.detail)
		return
	}
	tokenauth.WriteJSON(w, http.StatusBadRequest, err) // FieldErrors
}

// writeThrottled answers 429 as DRF's Throttled exception does.
func writeThrottled(w http.ResponseWriter, wait time.Duration) {
	secs := max(1, int64((wait+time.Second-1)/time.Second))
	n := strconv.FormatInt(secs, 10)
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	w.Header().Set("Retry-After", n)
	tokenauth.WriteDetail(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+n+unit)
}

// clientAddr is the host part of r.RemoteAddr, as the login handler counts
// attempts by default.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decodeSignup reads the username and password of a sign-up body. Its
// errors are FieldErrors (a field missing, null or not a string) or
// *requestError.
func decodeSignup(w http.ResponseWriter, r *http.Request) (username, password string, err error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignupBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", "", &requestError{http.StatusRequestEntityTooLarge, "Request body too large."}
	case err != nil:
		return "", "", &requestError{http.StatusBadRequest, "Could not read the request body."}
	}
	fields := map[string]json.RawMessage{}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case len(body) == 0:
		// No data: every field is missing.
	case mt == "application/json":
		if err := json.Unmarshal(body, &fields); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return "", "", FieldErrors{"non_field_errors": {"Invalid data. Expected a dictionary, but got " + pyTypeName(typeErr.Value, body) + "."}}
			}
			// The decoder's message may quote the body, which holds a
			// password: say only what is wrong.
			return "", "", &requestError{http.StatusBadRequest, "JSON parse error - the body is not valid JSON."}
		}
	case mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", &requestError{http.StatusBadRequest, "Form parse error - the body is not a valid form."}
		}
		for _, name := range []string{"username", "password"} {
			if v, ok := form[name]; ok {
				// The last value wins, as in Django; JSON-encoding a Go
				// string replaces invalid UTF-8.
				s, _ := json.Marshal(v[len(v)-1])
				fields[name] = s
			}
		}
	default:
		return "", "", &requestError{http.StatusUnsupportedMediaType, `Unsupported media type "` + ct + `" in request.`}
	}
	errs := FieldErrors{}
	get := func(name string) string {
		raw, ok := fields[name]
		var s string
		switch {
		case !ok:
			errs[name] = []string{msgRequired}
		case string(raw) == "null":
			errs[name] = []string{msgNull}
		case json.Unmarshal(raw, &s) != nil:
			errs[name] = []string{msgNotString}
		}
		return s
	}
	username, password = get("username"), get("password")
	if len(errs) > 0 {
		return "", "", errs
	}
	return username, password, nil
}

// pyTypeName names the Python type of a JSON document that is not an
// object, given the decoder's name for it, as DRF's message does.
func pyTypeName(jsonType string, body []byte) string {
	switch jsonType {
	case "array":
		return "list"
	case "string":
		return "str"
	case "number":
		if bytes.ContainsAny(body, ".eE") {
			return "float"
		}
		return "int"
	}
	return jsonType // bool
}
