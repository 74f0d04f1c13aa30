package login

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// remoteHost is the default Options.ClientAddr: the host part of
// r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ForwardedFor returns an Options.ClientAddr function for a service
// behind reverse proxies: when the request comes from one of
// trustedProxies, the client is the rightmost X-Forwarded-For address that
// is not itself a trusted proxy; otherwise it is the peer's address, as by
// default.
//
// Name only your own proxies. Any client can send an X-Forwarded-For
// header: trusting it from a peer that is not your proxy lets every client
// choose its own address and so escape the per-address limits. Reading the
// rightmost untrusted entry, never the leftmost, is what keeps addresses a
// client wrote itself out of the answer. With no trustedProxies the header
// is never read.
func ForwardedFor(trustedProxies ...netip.Prefix) func(*http.Request) string {
	trusted := make([]netip.Prefix, len(trustedProxies))
	for i, p := range trustedProxies {
		trusted[i] = p.Masked()
	}
	isTrusted := func(ip netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := remoteHost(r)
		client, ok := parseForwardedAddr(peer)
		if !ok || !isTrusted(client) {
			return peer
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
				ip, ok := parseForwardedAddr(entry)
				if !ok {
					// Not written by a proxy of ours: trust ends here.
					return client.String()
				}
				client = ip
				if !isTrusted(ip) {
					return ip.String()
				}
			}
		}
		return client.String()
	}
}

// parseForwardedAddr parses an address as proxies write it: bare, with a
// port, or bracketed.
func parseForwardedAddr(s string) (netip.Addr, bool) {
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
