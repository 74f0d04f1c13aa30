package client

import (
	"errors"
	"net/http"
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
// for one API, such as the one New returns, which does not follow
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
