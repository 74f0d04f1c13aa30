package tokenauth

import (
	"net/http"

	"github.com/go-tokenauth/tokenauth/internal/authheader"
)

// extract finds the key in r: the Authorization header first, then the
// configured cookie and query parameter. It reports whether the key came
// from the cookie, and allocates nothing for a request that carries a
// header.
func (a *Authenticator) extract(r *http.Request) (key string, fromCookie bool, err error) {
	values := r.Header["Authorization"]
	err = ErrNoCredentials
	switch len(values) {
	case 0:
	case 1:
		key, err = authheader.Parse(values[0], a.opts.Keywords, a.opts.RawHeader)
		if err == nil {
			return key, false, nil
		}
	default:
		// Several Authorization headers are ambiguous; a proxy that joined
		// them would send "Token a, Token b": too many words.
		for _, v := range values {
			if _, e := authheader.Parse(v, a.opts.Keywords, a.opts.RawHeader); e != ErrNoCredentials {
				return "", false, errHeaderSpaces
			}
		}
	}
	if err != ErrNoCredentials {
		return "", false, err
	}
	if a.opts.Cookie != "" {
		if key, err = a.cookieKey(r); err != ErrNoCredentials {
			return key, err == nil, err
		}
	}
	if a.opts.QueryParam != "" && r.URL != nil && r.URL.RawQuery != "" {
		if v := r.URL.Query().Get(a.opts.QueryParam); v != "" {
			key, err = authheader.CheckChars(v)
			return key, false, err
		}
	}
	return "", false, ErrNoCredentials
}

// cookieKey returns the key in the configured cookie. Two cookies of that
// name are refused: which one a browser sends first is not defined, and a
// sibling subdomain can plant one.
func (a *Authenticator) cookieKey(r *http.Request) (string, error) {
	cookies := r.CookiesNamed(a.opts.Cookie)
	switch {
	case len(cookies) == 0 || len(cookies) == 1 && cookies[0].Value == "":
		return "", ErrNoCredentials
	case len(cookies) > 1:
		return "", errDuplicateCookie
	}
	return authheader.CheckChars(cookies[0].Value)
}
