package tokenauth

import (
	"errors"
	"net/http"
	"strings"
)

// Transport is the client side of token authentication, the Go
// counterpart of the OkHttp interceptor in DRF tutorials: an
// http.RoundTripper that sends `Authorization: <Keyword> <Token>` with
// every request. The request is cloned first; the caller's is never
// modified. A Transport is safe for concurrent use once its fields are
// set.
//
// It adds the header to every request it carries, whatever the host,
// including redirects that http.Client follows: use it in a client made
// for one API, such as the one NewClient returns, which does not follow
// redirects to another host.
type Transport struct {
	// Token is the key to send, as issued.
	Token string
	// Keyword is the Authorization scheme. Default "Token", as in Django
	// REST Framework; use "Bearer" for an Authenticator configured so.
	Keyword string
	// Base carries the requests. Default http.DefaultTransport.
	Base http.RoundTripper
}

var errNoToken = errors.New("tokenauth: Transport has no token")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Token == "" {
		// A RoundTripper must close the body, even on error.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNoToken
	}
	keyword := t.Keyword
	if keyword == "" {
		keyword = "Token"
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", keyword+" "+t.Token)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// NewClient returns an http.Client that authenticates every request with
// token, the one-line way to call an API protected by tokenauth:
//
//	resp, err := tokenauth.NewClient(key).Get("https://api.example.com/orders")
//
// The client follows redirects only to the same scheme and host, so that
// the token is never sent to another server or over plain HTTP after a
// redirect from HTTPS; any other redirect response is returned as it is.
func NewClient(token string) *http.Client {
	return &http.Client{
		Transport:     &Transport{Token: token},
		CheckRedirect: sameOriginRedirects,
	}
}

// sameOriginRedirects follows up to 10 redirects, as http.Client does by
// default, and none that leaves the first request's scheme and host.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("tokenauth: stopped after 10 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return http.ErrUseLastResponse
	}
	return nil
}
