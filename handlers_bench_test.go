package tokenauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// loginBenchStore keeps nothing, so that BenchmarkLogin measures the
// handler rather than a store.
type loginBenchStore struct{}

func (loginBenchStore) Create(context.Context, *tokenauth.Token) error { return nil }
func (loginBenchStore) Find(context.Context, []byte) (*tokenauth.Token, error) {
	return nil, tokenauth.ErrNotFound
}
func (loginBenchStore) Delete(context.Context, string) error                     { return tokenauth.ErrNotFound }
func (loginBenchStore) DeleteUser(context.Context, string) (int, error)          { return 0, nil }
func (loginBenchStore) List(context.Context, string) ([]*tokenauth.Token, error) { return nil, nil }
func (loginBenchStore) Touch(context.Context, string, time.Time, time.Time) error {
	return tokenauth.ErrNotFound
}

// loginBenchWriter is a ResponseWriter reused across iterations.
type loginBenchWriter struct {
	header http.Header
	code   int
}

func (w *loginBenchWriter) Header() http.Header         { return w.header }
func (w *loginBenchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *loginBenchWriter) WriteHeader(code int)        { w.code = code }

// rewindBody is a request body that can be read again after Reset.
type rewindBody struct{ *strings.Reader }

func (rewindBody) Close() error { return nil }

// BenchmarkLogin measures the login handler's own cost per successful
// login: decoding the body, the default limiter, generating and digesting
// the token and writing the response. The checker compares strings and the
// store keeps nothing; a real checker adds its password hash (bcrypt at
// its default cost takes tens of milliseconds) and a store its round trip.
func BenchmarkLogin(b *testing.B) {
	auth, err := tokenauth.New(loginBenchStore{}, tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	checker := tokenauth.CredentialCheckerFunc(func(_ context.Context, username, password string) (string, error) {
		if username == "john" && password == loginPassword {
			return "1", nil
		}
		return "", tokenauth.ErrBadCredentials
	})
	h, err := tokenauth.NewLoginHandler(auth, checker, tokenauth.LoginOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range loginEncodings {
		b.Run(enc.name, func(b *testing.B) {
			ct, payload := enc.encode(b, credentials("john", loginPassword))
			body := rewindBody{strings.NewReader(payload)}
			r := httptest.NewRequest(http.MethodPost, "/auth/login", body)
			r.Header.Set("Content-Type", ct)
			w := &loginBenchWriter{header: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				body.Reset(payload)
				clear(w.header)
				h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
