package chiauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/memstore"
)

// A chi service that logs in, calls a protected route with a URL parameter
// and logs out.
func Example() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	loginHandler, err := login.New(auth, login.CredentialCheckerFunc(
		func(_ context.Context, username, password string) (string, error) {
			if username == "alice" && password == "s3cret" { // a real checker asks the user database
				return "42", nil
			}
			return "", login.ErrBadCredentials
		}), login.Options{})
	if err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	chiauth.Mount(r, auth, loginHandler, chiauth.Options{}) // /api-token-auth/, /logout/, /logoutall/
	chiauth.Protected(r, auth, func(r chi.Router) {
		r.Get("/notes/{id}/", func(w http.ResponseWriter, r *http.Request) {
			tok, _ := tokenauth.FromContext(r.Context())
			tokenauth.WriteJSON(w, http.StatusOK, map[string]string{"note": chi.URLParam(r, "id"), "user": tok.UserID})
		})
	})

	send := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	w := send(http.MethodPost, "/api-token-auth/", "", `{"username": "alice", "password": "s3cret"}`)
	var resp struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		log.Fatal(err)
	}
	fmt.Println("login:", w.Code)
	w = send(http.MethodGet, "/notes/7/", resp.Token, "")
	fmt.Println("note:", w.Code, w.Body)
	w = send(http.MethodPost, "/logout/", resp.Token, "")
	fmt.Println("logout:", w.Code)
	w = send(http.MethodGet, "/notes/7/", resp.Token, "")
	fmt.Println("note:", w.Code, w.Body)
	// Output:
	// login: 200
	// note: 200 {"note":"7","user":"42"}
	// logout: 204
	// note: 401 {"detail":"Invalid token."}
}
