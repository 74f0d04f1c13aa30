package secretscan_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/secretscan"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// GitHub finds a live token and a look-alike in a public repository and
// reports both: the live one is revoked and its owner can be told.
func Example() {
	// Stand-ins for GitHub: its signing key and its list of public keys.
	github, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&github.PublicKey)
	keyList, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": "k1",
		"key":            string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"is_current":     true,
	}}})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(keyList) }))
	defer api.Close()

	// The service.
	auth, _ := tokenauth.New(memstore.New(), tokenauth.Options{})
	h, err := secretscan.New(auth, secretscan.Options{
		KeysURL: api.URL, // leave empty for GitHub's
		OnLeak: func(ctx context.Context, l secretscan.Leak) {
			fmt.Printf("tell user %s: token %q was found at %s\n", l.Token.UserID, l.Token.Name, l.Found[0].URL)
		},
	})
	if err != nil {
		panic(err)
	}
	key, _, _ := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Name: "deploy"})

	// GitHub's report, signed.
	body := []byte(`[{"source":"content","token":"` + key + `","type":"tokenauth_api_token","url":"https://github.com/octocat/Hello-World/blob/main/.env"},` +
		`{"source":"content","token":"tka_NMIfyYncKcRALEXAMPLE","type":"tokenauth_api_token","url":"https://github.com/octocat/Hello-World/blob/main/README.md"}]`)
	digest := sha256.Sum256(body)
	sig, _ := ecdsa.SignASN1(rand.Reader, github, digest[:])
	r := httptest.NewRequest(http.MethodPost, "/github/secret-scanning", bytes.NewReader(body))
	r.Header.Set("Github-Public-Key-Identifier", "k1")
	r.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	var feedback []struct{ Label string }
	_ = json.Unmarshal(w.Body.Bytes(), &feedback)
	fmt.Println(w.Code, feedback)
	_, err = auth.Verify(context.Background(), key)
	fmt.Println(err)
	// Output:
	// tell user 42: token "deploy" was found at https://github.com/octocat/Hello-World/blob/main/.env
	// 200 [{true_positive} {false_positive}]
	// tokenauth: invalid token
}
