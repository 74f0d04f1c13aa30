package redisstore_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

// FuzzDecodeEvent checks that any payload on the events channel is read
// without a panic, and that what is read is what the scripts would have
// written for it.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{"3:abcuser:1", "0:user", "2:ab", "", ":", "9:abc", "-1:x", "1:\xff\x00", "01:ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		id, user, ok := redisstore.DecodeEvent(payload)
		if !ok {
			return
		}
		// The payload is a length, a colon, then the ID and the user.
		head, found := strings.CutSuffix(payload, ":"+id+user)
		if n, err := strconv.Atoi(head); !found || err != nil || n != len(id) {
			t.Fatalf("DecodeEvent(%q) = %q, %q", payload, id, user)
		}
	})
}

// FuzzHashTag checks that distinct user IDs get distinct, non-empty tags
// holding no '}', so that a user's keys share one slot and no two users
// share keys.
func FuzzHashTag(f *testing.F) {
	for _, s := range [][2]string{{"", "%"}, {"}", "%7D"}, {"a}b", "a%7Db"}, {"%", "%25"}, {"user:1", "user:2"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, tb := redisstore.HashTag(a), redisstore.HashTag(b)
		for _, tag := range []string{ta, tb} {
			if tag == "" || strings.Contains(tag, "}") {
				t.Fatalf("tag %q: empty or holding '}'", tag)
			}
		}
		if (a == b) != (ta == tb) {
			t.Fatalf("HashTag(%q) = %q, HashTag(%q) = %q", a, ta, b, tb)
		}
	})
}

// FuzzIndexEntry checks that an index entry gives back the digest and ID
// it was made of, and that any member is read without a panic.
func FuzzIndexEntry(f *testing.F) {
	f.Add("00ff", "id:with:colons", "garbage")
	f.Add("", "", ":")
	f.Fuzz(func(t *testing.T, digest, id, member string) {
		redisstore.SplitIndexEntry(member)
		h := []byte(digest)
		for i := range h {
			h[i] = "0123456789abcdef"[h[i]%16]
		}
		if len(h) == 0 {
			return
		}
		gotH, gotID, ok := redisstore.SplitIndexEntry(redisstore.IndexEntry(string(h), id))
		if !ok || gotH != string(h) || gotID != id {
			t.Fatalf("SplitIndexEntry(IndexEntry(%q, %q)) = %q, %q, %v", h, id, gotH, gotID, ok)
		}
	})
}

// FuzzDecodePolicy reads any values the policy fields may hold (anyone
// with access to Redis may write them): refused, naming the field and not
// its value, or read as a policy that writes back as values that read
// back the same.
func FuzzDecodePolicy(f *testing.F) {
	f.Add("1", "1773500966535897", "10.0.0.0/8,2001:db8::/32", "::ffff:10.1.0.0/112", "100", "60000000001", "2001:db8::1", "curl/8.5.0")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("yes", "soon", "10.0.0.0/8,", ",", "-1", "1e9", "\xff", "\x00")
	f.Fuzz(func(t *testing.T, personal, notBefore, allowed, denied, limit, window, from, agent string) {
		vals := []string{personal, notBefore, allowed, denied, limit, window, from, agent}
		names := []string{"personal", "not_before", "allowed_ips", "denied_ips", "rate_limit", "rate_window", "created_from", "user_agent"}
		var tok tokenauth.Token
		if err := redisstore.DecodePolicy(&tok, vals); err != nil {
			field, ok := strings.CutPrefix(err.Error(), "malformed token record: ")
			if !ok || !slices.Contains(names, field) {
				t.Fatalf("the error says more than the field: %v", err)
			}
			return
		}
		pairs, err := redisstore.EncodePolicy(&tok)
		if err != nil {
			t.Fatalf("%q read as a policy that does not write back: %v", vals, err)
		}
		again := make([]string, len(vals))
		for i := 0; i < len(pairs); i += 2 {
			again[slices.Index(names, pairs[i].(string))] = pairs[i+1].(string)
		}
		var back tokenauth.Token
		if err := redisstore.DecodePolicy(&back, again); err != nil {
			t.Fatalf("%q written back as %q, which does not read: %v", vals, again, err)
		}
		if !reflect.DeepEqual(tok, back) {
			t.Fatalf("%q read as %+v, written as %q, read back as %+v", vals, tok, again, back)
		}
	})
}
