// Package clientaddr is the one rule for a request's client address, shared
// by the Authenticator's address lists and the login throttle: the peer's
// address, or, when the peer is a trusted proxy, the rightmost
// X-Forwarded-For entry that is not one. Never the leftmost, which any
// client writes itself.
package clientaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Rule finds client addresses; its zero value trusts no proxy.
type Rule struct{ trusted []netip.Prefix }

// New returns the rule trusting the given proxies.
func New(trustedProxies []netip.Prefix) Rule {
	trusted := make([]netip.Prefix, len(trustedProxies))
	for i, p := range trustedProxies {
		trusted[i] = p.Masked()
	}
	return Rule{trusted}
}

func (ru Rule) isTrusted(ip netip.Addr) bool {
	for _, p := range ru.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Addr returns r's client address, unmapped and without zone, or the
// invalid Addr when r.RemoteAddr holds none (a Unix socket).
func (ru Rule) Addr(r *http.Request) netip.Addr {
	client, ok := peer(r.RemoteAddr)
	if !ok || !ru.isTrusted(client) {
		return client
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		list := values[i]
		for list != "" {
			var entry string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, entry = list[:j], list[j+1:]
			} else {
				list, entry = "", list
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			ip, ok := Parse(entry)
			if !ok {
				// Not written by a proxy of ours: trust ends here.
				return client
			}
			client = ip
			if !ru.isTrusted(ip) {
				return ip
			}
		}
	}
	return client
}

// Parse parses an address as peers and proxies write it: bare, with a
// port, or bracketed.
func Parse(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	return ip.Unmap().WithZone(""), true
}

// peer is Parse for RemoteAddr, which has a port unless a test or a
// custom listener leaves it out.
func peer(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return Parse(s)
}

// Host is the host part of r.RemoteAddr, as it is written.
func Host(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
