package secretscan_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeGitHub signs reports as GitHub does and serves the list of its
// public keys as api.github.com does, with ETags.
type fakeGitHub struct {
	url string

	mu     sync.Mutex
	signer map[string]*ecdsa.PrivateKey // every key ever made, listed or not
	listed []string                     // IDs in the list, in order
	fail   bool                         // the list answers 500

	gets, notModified atomic.Int32
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{signer: map[string]*ecdsa.PrivateKey{}}
	ts := httptest.NewServer(http.HandlerFunc(g.serveKeys))
	t.Cleanup(ts.Close)
	g.url = ts.URL + "/meta/public_keys/secret_scanning"
	return g
}

// newKey makes a key pair and returns its ID, the hex SHA-256 of the
// public key as GitHub's IDs are; listed says whether the list shows it.
func (g *fakeGitHub) newKey(t *testing.T, listed bool) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	sum := sha256.Sum256(der)
	id := hex.EncodeToString(sum[:])
	g.mu.Lock()
	defer g.mu.Unlock()
	g.signer[id] = priv
	if listed {
		g.listed = append(g.listed, id)
	}
	return id
}

// setListed makes the list show exactly ids, as a key rotation does.
func (g *fakeGitHub) setListed(ids ...string) {
	g.mu.Lock()
	g.listed = ids
	g.mu.Unlock()
}

func (g *fakeGitHub) setFail(fail bool) {
	g.mu.Lock()
	g.fail = fail
	g.mu.Unlock()
}

func (g *fakeGitHub) serveKeys(w http.ResponseWriter, r *http.Request) {
	g.gets.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail {
		http.Error(w, "unicorn", http.StatusInternalServerError)
		return
	}
	type key struct {
		ID      string `json:"key_identifier"`
		Key     string `json:"key"`
		Current bool   `json:"is_current"`
	}
	var list struct {
		Keys []key `json:"public_keys"`
	}
	for i, id := range g.listed {
		der, _ := x509.MarshalPKIXPublicKey(&g.signer[id].PublicKey)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		list.Keys = append(list.Keys, key{id, string(pemKey), i == len(g.listed)-1})
	}
	body, _ := json.Marshal(list)
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:8]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		g.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// reportBody is a report in GitHub's format, members in the order of the
// docs' sample.
func reportBody(t *testing.T, matches ...map[string]string) []byte {
	t.Helper()
	body, err := json.Marshal(matches)
	require.NoError(t, err)
	return body
}

// found is one match of a token, as GitHub reports a leak in a commit.
func found(token string) map[string]string {
	return map[string]string{
		"token":  token,
		"type":   "tokenauth_api_token",
		"url":    "https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt",
		"source": "content",
	}
}

// sign returns the Github-Public-Key-Signature of body with key id.
func (g *fakeGitHub) sign(t *testing.T, id string, body []byte) string {
	t.Helper()
	g.mu.Lock()
	priv := g.signer[id]
	g.mu.Unlock()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// post sends body to h as GitHub does, with the given key ID and
// signature headers.
func post(h http.Handler, id, sig string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/github/secret-scanning", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Github-Public-Key-Identifier", id)
	r.Header.Set("Github-Public-Key-Signature", sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// send signs body with key id and posts it to h.
func (g *fakeGitHub) send(t *testing.T, h http.Handler, id string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	return post(h, id, g.sign(t, id, body), body)
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
