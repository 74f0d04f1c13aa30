package login_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
)

// benchStore keeps nothing, so that BenchmarkLogin measures the handler
// rather than a store.
type benchStore struct{}

func (benchStore) Create(context.Context, *tokenauth.Token) error { return nil }
func (benchStore) Find(context.Context, []byte) (*tokenauth.Token, error) {
	return nil, tokenauth.ErrNotFound
}
func (benchStore) Delete(context.Context, string) error                     { return tokenauth.ErrNotFound }
func (benchStore) List(context.Context, string) ([]*tokenauth.Token, error) { return nil, nil }
func (benchStore) Touch(context.Context, []tokenauth.TokenUse) error        { return nil }
func (benchStore) Expire(context.Context, string, time.Time) error          { return tokenauth.ErrNotFound }
func (benchStore) DeleteUser(context.Context, string, time.Time, ...string) (int, error) {
	return 0, nil
}

// benchWriter is a ResponseWriter reused across iterations.
type benchWriter struct {
	header http.Header
	code   int
}

func (w *benchWriter) Header() http.Header         { return w.header }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// rewindBody is a request body that can be read again after Reset.
type rewindBody struct{ *strings.Reader }

func (rewindBody) Close() error { return nil }

// BenchmarkLogin measures the handler's own cost per successful login:
// decoding the body, the default limiter, generating and digesting the
// token and writing the response. The checker compares strings and the
// store keeps nothing; a real checker adds its password hash (bcrypt at
// its default cost takes tens of milliseconds) and a store its round trip.
func BenchmarkLogin(b *testing.B) {
	auth, err := tokenauth.New(benchStore{}, tokenauth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	checker := login.CredentialCheckerFunc(func(_ context.Context, username, pw string) (login.Grant, error) {
		if username == "john" && pw == password {
			return login.Grant{UserID: "1"}, nil
		}
		return login.Grant{}, login.ErrBadCredentials
	})
	h, err := login.New(auth, checker, login.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range encodings {
		b.Run(enc.name, func(b *testing.B) {
			ct, payload := enc.encode(b, credentials("john", password))
			body := rewindBody{strings.NewReader(payload)}
			r := httptest.NewRequest(http.MethodPost, "/auth/login", body)
			r.Header.Set("Content-Type", ct)
			w := &benchWriter{header: http.Header{}}
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
