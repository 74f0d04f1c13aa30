package login

import (
	"net/http"
	"net/netip"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/clientaddr"
)

// authClientAddr is the default Options.ClientAddr: a's rule, or the
// peer as written when it is no IP address (a Unix socket).
func authClientAddr(a *tokenauth.Authenticator) func(*http.Request) string {
	return func(r *http.Request) string {
		if ip := a.ClientAddr(r); ip.IsValid() {
			return ip.String()
		}
		return clientaddr.Host(r)
	}
}

// ForwardedFor returns an Options.ClientAddr function for a service
// behind reverse proxies, by the rule of tokenauth.Options.TrustedProxies:
// from one of trustedProxies, the client is the rightmost X-Forwarded-For
// address that is not itself a trusted proxy, never the leftmost, which a
// client writes itself; otherwise it is the peer's address. Setting
// TrustedProxies on the Authenticator does the same for the login and the
// tokens' address lists at once.
func ForwardedFor(trustedProxies ...netip.Prefix) func(*http.Request) string {
	rule := clientaddr.New(trustedProxies)
	return func(r *http.Request) string {
		if ip := rule.Addr(r); ip.IsValid() {
			return ip.String()
		}
		return clientaddr.Host(r)
	}
}
