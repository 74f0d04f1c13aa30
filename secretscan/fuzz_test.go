package secretscan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseReport feeds the report parser what a signed body might hold.
// A body is a report of matches that each carry a token, or refused:
// never a panic; and an accepted report reads the same once written
// again.
func FuzzParseReport(f *testing.F) {
	for _, s := range []string{
		`[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`,
		`[{"token":"NMIfyYncKcRALEXAMPLE","type":"mycompany_api_token","url":"https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt","source":"content"}]`,
		`[{"token":"a"},{"token":"a","url":""}]`,
		`[{"token":"tka_\u0000\ud800","extra":{"x":[1,2]}}]`,
		`[{"token":""}]`, `[{"token":1}]`, `[{}]`, `[null]`, `[]`, `null`, `{}`, ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		matches, err := parseReport(body)
		if err != nil {
			if matches != nil || !errors.Is(err, errReport) {
				t.Fatalf("parseReport(%q) = %v, %v", body, matches, err)
			}
			return
		}
		for _, m := range matches {
			if m.Token == "" {
				t.Fatalf("parseReport(%q): a match without a token", body)
			}
		}
		again, err := json.Marshal(matches)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseReport(again)
		if err != nil || !reflect.DeepEqual(back, matches) {
			t.Fatalf("parseReport(%q) = %v; written again as %s, reads %v, %v", body, matches, again, back, err)
		}
	})
}

// FuzzParseKeys feeds the key list parser what GitHub, or anything posing
// as it, might send: never a panic, and only P-256 keys kept.
func FuzzParseKeys(f *testing.F) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			f.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		list, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
			"key_identifier": "k1", "is_current": true,
			"key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		}}})
		f.Add(list)
	}
	f.Add([]byte(`{"public_keys":[{"key_identifier":"x","key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}`))
	f.Add([]byte(`{"public_keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseKeys(data)
		if err != nil {
			return
		}
		for id, k := range keys {
			if id == "" || k.Curve != elliptic.P256() {
				t.Fatalf("parseKeys(%q) kept %q: %v", data, id, k.Curve)
			}
		}
	})
}
