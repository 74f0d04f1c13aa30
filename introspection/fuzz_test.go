package introspection

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// FuzzParseAnswer feeds the Client's parser what an endpoint, or anything
// posing as one, might send. An answer is an active token, an inactive
// one, or malformed: never a panic, never a token with impossible dates;
// and an accepted token reads the same once the Server writes it again.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active":false}`,
		`{"active":true}`,
		`{"active":true,"scope":"read write","token_type":"Token","exp":1767225600,"iat":1764633600,"sub":"42","jti":"5YbD","username":"alice"}`,
		`{"active":true,"exp":1767225600.25,"iat":1.7646336e9}`,
		`{"active":true,"exp":-1}`,
		`{"active":true,"exp":1e308}`,
		`{"active":true,"exp":"1767225600"}`,
		`{"active":"true"}`,
		`{"active":null}`,
		`{"active":true,"scope":"a\u0000b \"c\" \\d"}`,
		`[]`, `null`, ``, `<html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseAnswer(data)
		if err != nil {
			if tok != nil || !errors.Is(err, tokenauth.ErrInvalidToken) && !errors.Is(err, errMalformed) {
				t.Fatalf("parseAnswer(%q) = %v, %v", data, tok, err)
			}
			return
		}
		for _, at := range []time.Time{tok.CreatedAt, tok.ExpiresAt} {
			if !at.IsZero() && (at.Unix() <= 0 || at.Unix() >= maxDate) {
				t.Fatalf("parseAnswer(%q): implausible date %v", data, at)
			}
		}
		if slices.Contains(tok.Scopes, "") {
			t.Fatalf("parseAnswer(%q): empty scope in %q", data, tok.Scopes)
		}
		again, err := json.Marshal(claimsOf(tok, "Token"))
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseAnswer(again)
		if err != nil {
			t.Fatalf("the Server's answer %s for %q: %v", again, data, err)
		}
		want := slices.DeleteFunc(slices.Clone(tok.Scopes), func(s string) bool { return !validScope(s) })
		if back.ID != tok.ID || back.UserID != tok.UserID || !slices.Equal(back.Scopes, want) ||
			back.CreatedAt.Unix() != tok.CreatedAt.Unix() || back.ExpiresAt.Unix() != tok.ExpiresAt.Unix() {
			t.Fatalf("parseAnswer(%q) = %+v, written again as %s, reads %+v", data, tok, again, back)
		}
	})
}
