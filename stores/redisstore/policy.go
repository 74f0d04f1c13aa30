package redisstore

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// policyFields are the token hash's fields for the per-token policy, after
// the record's: written only when set, so that a token without policy
// costs no memory for them, and records stored before they existed read
// as no policy.
//
//	personal      "1"
//	not_before    Unix microseconds
//	allowed_ips   IP prefixes separated by commas, as netip.Prefix writes them
//	denied_ips    the same
//	rate_limit    requests per rate window, in decimal
//	rate_window   the window in nanoseconds (a time.Duration), in decimal
//	created_from  the client address the token was issued to
//	user_agent    that client's User-Agent
var policyFields = [...]string{"personal", "not_before", "allowed_ips", "denied_ips", "rate_limit", "rate_window", "created_from", "user_agent"}

// numRecordFields is how many of fields precede the policy's.
const numRecordFields = 8

// encodePolicy returns t's policy as the field and value pairs of an HSET,
// the fields left unset left out. It refuses an invalid IP prefix, which
// would not read back.
func encodePolicy(t *tokenauth.Token) ([]any, error) {
	var out []any
	add := func(field, value string) {
		if value != "" {
			out = append(out, field, value)
		}
	}
	if t.Personal {
		add("personal", "1")
	}
	add("not_before", encodeTime(t.NotBefore))
	for _, f := range []struct {
		field    string
		prefixes []netip.Prefix
	}{{"allowed_ips", t.AllowedIPs}, {"denied_ips", t.DeniedIPs}} {
		var b []byte
		for i, p := range f.prefixes {
			if !p.IsValid() {
				return nil, errors.New("an invalid IP prefix")
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = p.AppendTo(b)
		}
		add(f.field, string(b))
	}
	if t.RateLimit != 0 {
		add("rate_limit", strconv.Itoa(t.RateLimit))
	}
	if t.RateWindow != 0 {
		add("rate_window", strconv.FormatInt(int64(t.RateWindow), 10))
	}
	add("created_from", t.CreatedFrom)
	add("user_agent", t.UserAgent)
	return out, nil
}

// decodePolicy sets t's policy from the values of policyFields, in order;
// "" (or a field absent: nil) is unset. It names the field it cannot
// read, never its value.
func decodePolicy(t *tokenauth.Token, f []string) error {
	bad := func(i int) error { return errors.New("malformed token record: " + policyFields[i]) }
	var err error
	switch f[0] {
	case "", "0":
	case "1":
		t.Personal = true
	default:
		return bad(0)
	}
	if t.NotBefore, err = decodeTime(f[1]); err != nil {
		return bad(1)
	}
	if t.AllowedIPs, err = decodePrefixes(f[2]); err != nil {
		return bad(2)
	}
	if t.DeniedIPs, err = decodePrefixes(f[3]); err != nil {
		return bad(3)
	}
	if f[4] != "" {
		if t.RateLimit, err = strconv.Atoi(f[4]); err != nil {
			return bad(4)
		}
	}
	if f[5] != "" {
		n, err := strconv.ParseInt(f[5], 10, 64)
		if err != nil {
			return bad(5)
		}
		t.RateWindow = time.Duration(n)
	}
	t.CreatedFrom, t.UserAgent = f[6], f[7]
	return nil
}

func decodePrefixes(s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
