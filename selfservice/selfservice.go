// Package selfservice is the JSON API through which users manage their own
// tokens: list them, revoke one or all but the current one, and create
// personal access tokens for scripts and CI. Every route authenticates the
// request (as Require does) and acts on the caller's tokens alone: a user
// can neither see nor revoke another user's, and asking for one gets 404,
// as for a token that does not exist.
//
//	tokens, err := selfservice.New(auth, selfservice.Options{})
//	mux.Handle("/api/tokens/", http.StripPrefix("/api/tokens", tokens))
//
// Routes, relative to where it is mounted:
//
//	GET    /                list the caller's tokens, oldest first
//	POST   /                create a personal access token
//	DELETE /{id}/           revoke one of the caller's tokens
//	POST   /revoke-others/  revoke every token of the caller but this one
//
// A token is shown as its ID, name, kind ("session" from a login,
// "personal" made on purpose), scopes, creation time, address and user
// agent, last use, expiry, constraints, and whether it is the current
// one; never its secret. The last use of the current token is this
// request.
//
// Create takes {"name", "scopes", "ttl_seconds", "not_before",
// "allowed_ips", "denied_ips", "rate_limit": {"limit", "window_seconds"}},
// all but name optional, and answers 201 with the token's view and
// "token": the plaintext, shown this once. A new token carries only scopes
// the caller holds, only addresses the caller's token allows, and the
// caller's denied ones too. Personal access tokens cannot create tokens:
// a leaked one could otherwise outlive its revocation through its
// offspring. Bad input gets 400 with Django REST Framework's field errors
// ({"allowed_ips": ["Item 1: Enter a valid CIDR range..."]}), unknown and
// repeated fields included, and nothing is stored.
package selfservice

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Options configures the handler. The zero value accepts bodies up to
// 16 KiB, lets each user hold 100 personal access tokens, and takes any
// lifetime up to a century.
type Options struct {
	// MaxTTL bounds ttl_seconds, and is the lifetime of a token created
	// without one: set it where tokens must expire. Default none (then
	// the Authenticator's DefaultTTL applies).
	MaxTTL time.Duration

	// MaxPersonal is how many unexpired personal access tokens a user may
	// hold; creating one more gets 403. Concurrent requests may pass it by
	// one or two. Default 100; negative: no bound.
	MaxPersonal int

	// MaxBodyBytes bounds a create body (413 past it). Default 16 KiB.
	MaxBodyBytes int64

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

type handler struct {
	auth        *tokenauth.Authenticator
	maxTTL      time.Duration
	maxPersonal int
	maxBody     int64
	now         func() time.Time
}

// New returns the handler over auth's tokens, to be mounted with
// http.StripPrefix. It returns an error wrapping
// tokenauth.ErrInvalidOptions for a nil auth or negative sizes.
func New(auth *tokenauth.Authenticator, opts Options) (http.Handler, error) {
	switch {
	case auth == nil:
		return nil, fmt.Errorf("%w: selfservice.New: Authenticator is nil", tokenauth.ErrInvalidOptions)
	case opts.MaxTTL < 0 || opts.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: selfservice.Options: MaxTTL and MaxBodyBytes must not be negative", tokenauth.ErrInvalidOptions)
	}
	h := &handler{
		auth:        auth,
		maxTTL:      opts.MaxTTL,
		maxPersonal: cmp.Or(opts.MaxPersonal, 100),
		maxBody:     cmp.Or(opts.MaxBodyBytes, 16<<10),
		now:         opts.Now,
	}
	if h.now == nil {
		h.now = time.Now
	}
	// Credentials first, as DRF checks them before the method: without
	// them, 401 before any 404 or 405.
	return auth.Require()(h), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	current, _ := tokenauth.FromContext(r.Context())
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case path == "":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.list(w, r, current)
		case http.MethodPost:
			h.create(w, r, current)
		default:
			notAllowed(w, r, "GET, POST, OPTIONS")
		}
	case path == "revoke-others/" || path == "revoke-others":
		if r.Method != http.MethodPost {
			notAllowed(w, r, "POST, OPTIONS")
			return
		}
		n, err := h.auth.RevokeOthers(r.Context(), current)
		if err != nil {
			h.auth.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	default:
		id, rest, _ := strings.Cut(path, "/")
		if rest != "" || id == "" || len(id) > 64 {
			writeDetail(w, http.StatusNotFound, "Not found.")
			return
		}
		if r.Method != http.MethodDelete {
			notAllowed(w, r, "DELETE, OPTIONS")
			return
		}
		h.revoke(w, r, current, id)
	}
}

// notAllowed answers OPTIONS with 204 and other methods with DRF's 405.
func notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request, current *tokenauth.Token) {
	tokens, err := h.auth.List(r.Context(), current.UserID)
	if err != nil {
		h.auth.Error(w, r, err)
		return
	}
	now := h.now()
	views := make([]tokenView, 0, len(tokens))
	for _, t := range tokens {
		if t.UserID != current.UserID { // a store that lists loosely
			continue
		}
		v := viewOf(t)
		if t.ID == current.ID {
			v.Current = true
			v.LastUsedAt = jsonTime(now)
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, views)
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request, current *tokenauth.Token, id string) {
	tokens, err := h.auth.List(r.Context(), current.UserID)
	if err != nil {
		h.auth.Error(w, r, err)
		return
	}
	// Only the caller's own: another user's ID is as unknown as a made-up
	// one, so that IDs cannot be probed.
	if !slices.ContainsFunc(tokens, func(t *tokenauth.Token) bool { return t.ID == id && t.UserID == current.UserID }) {
		writeDetail(w, http.StatusNotFound, "Not found.")
		return
	}
	switch err := h.auth.Revoke(r.Context(), id); {
	case errors.Is(err, tokenauth.ErrNotFound):
		writeDetail(w, http.StatusNotFound, "Not found.")
	case err != nil:
		h.auth.Error(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, current *tokenauth.Token) {
	if current.Personal {
		writeDetail(w, http.StatusForbidden, "Personal access tokens cannot create tokens.")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeDetail(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", mt))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeDetail(w, http.StatusRequestEntityTooLarge, "Request body too large.")
		return
	case err != nil:
		writeDetail(w, http.StatusBadRequest, "The request body could not be read.")
		return
	}
	body, errs, err := decodeCreate(data)
	if err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	if errs == nil {
		errs = h.validate(&body, current)
	}
	if errs != nil {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	if h.maxPersonal > 0 {
		tokens, err := h.auth.List(r.Context(), current.UserID)
		if err != nil {
			h.auth.Error(w, r, err)
			return
		}
		now := h.now()
		n := 0
		for _, t := range tokens {
			if t.Personal && !t.Expired(now) {
				n++
			}
		}
		if n >= h.maxPersonal {
			writeDetail(w, http.StatusForbidden, "Maximum amount of tokens allowed per user exceeded.")
			return
		}
	}
	from := ""
	if ip := h.auth.ClientAddr(r); ip.IsValid() {
		from = ip.String()
	}
	key, t, err := h.auth.Issue(r.Context(), current.UserID, tokenauth.IssueOptions{
		Name: body.name, Scopes: body.scopes, TTL: body.ttl, Personal: true,
		NotBefore: body.notBefore, AllowedIPs: body.allowedIPs, DeniedIPs: body.deniedIPs,
		RateLimit: body.rateLimit, RateWindow: body.rateWindow,
		CreatedFrom: from, UserAgent: r.UserAgent(),
	})
	if err != nil {
		h.auth.Error(w, r, err) // an outage: the body was checked
		return
	}
	v := viewOf(t)
	v.Token = key
	writeJSON(w, http.StatusCreated, v)
}

// validate checks body against the caller's token and the options, and
// narrows it: the caller's denied ranges are added, and its allowed ones
// are the default.
func (h *handler) validate(b *createBody, current *tokenauth.Token) fieldErrors {
	errs := fieldErrors{}
	for _, s := range b.scopes {
		if !current.HasScopes(s) {
			errs.add("scopes", fmt.Sprintf("You do not hold the scope %q.", s))
		}
	}
	if h.maxTTL > 0 {
		switch {
		case b.ttl == 0:
			b.ttl = h.maxTTL
		case b.ttl > h.maxTTL:
			errs.add("ttl_seconds", fmt.Sprintf("Ensure this value is less than or equal to %d.", int64(h.maxTTL/time.Second)))
		}
	}
	if !b.notBefore.IsZero() && b.ttl > 0 && !b.notBefore.Before(h.now().Add(b.ttl)) {
		errs.add("not_before", "Ensure this is before the token expires.")
	}
	if len(current.AllowedIPs) > 0 {
		if len(b.allowedIPs) == 0 {
			b.allowedIPs = slices.Clone(current.AllowedIPs)
		}
		for i, p := range b.allowedIPs {
			if !within(p, current.AllowedIPs) {
				errs.add("allowed_ips", fmt.Sprintf("Item %d: outside the ranges your token is allowed from.", i))
			}
		}
	}
	b.deniedIPs = append(b.deniedIPs, current.DeniedIPs...)
	if len(b.deniedIPs) > maxRanges {
		errs.add("denied_ips", fmt.Sprintf("Ensure this field has no more than %d elements, with your token's own.", maxRanges))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// within reports whether every address of p is in one of ranges.
func within(p netip.Prefix, ranges []netip.Prefix) bool {
	p = unmap(p)
	for _, r := range ranges {
		r = unmap(r)
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// unmap turns an IPv4-mapped IPv6 range into the IPv4 range.
func unmap(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}
