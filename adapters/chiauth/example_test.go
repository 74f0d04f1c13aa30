package chiauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/adapters/chiauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
)

// A chi service that logs in, calls a protected route with a URL parameter
// and logs out.
func Example() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	loginHandler, err := login.New(auth, login.CredentialCheckerFunc(
		func(_ context.Context, username, password string) (login.Grant, error) {
			if username == "alice" && password == "s3cret" { // a real checker asks the user database
				return login.Grant{UserID: "42"}, nil
			}
			return login.Grant{}, login.ErrBadCredentials
		}), login.Options{})
	if err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	chiauth.Mount(r, auth, loginHandler, chiauth.Paths{}) // /api-token-auth/, /api/logout/, ...
	r.Route("/api/notes", func(r chi.Router) {
		r.Use(auth.Require())
		r.Get("/{id}/", func(w http.ResponseWriter, r *http.Request) {
			tok, _ := tokenauth.FromContext(r.Context())
			fmt.Fprintf(w, "note %s of user %s", chi.URLParam(r, "id"), tok.UserID)
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
	w = send(http.MethodGet, "/api/notes/7/", resp.Token, "")
	fmt.Println("note:", w.Code, w.Body)
	w = send(http.MethodPost, "/api/logout/", resp.Token, "")
	fmt.Println("logout:", w.Code)
	w = send(http.MethodGet, "/api/notes/7/", resp.Token, "")
	fmt.Println("note:", w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// login: 200
	// note: 200 note 7 of user 42
	// logout: 204
	// note: 401 {"detail":"Invalid token."}
}

// Routes that need a scope sit behind r.With(auth.Require(scope)) inside
// the subrouter's r.Use(auth.Require()): a token without it gets 403, and
// the scope check reuses the token the outer Require found. A wrong
// method gets chi's 405 with the Allow header.
func ExampleMount_scopes() {
	auth, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	reader, _, err := auth.Issue(context.Background(), "42", tokenauth.IssueOptions{Scopes: []string{"read"}})
	if err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	chiauth.Mount(r, auth, nil, chiauth.Paths{}) // /api/logout/, /api/logoutall/, /api/logout-others/
	r.Route("/api", func(r chi.Router) {
		r.Use(auth.Require())
		r.Get("/articles/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		r.With(auth.Require("write")).Post("/articles/", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
		})
	})

	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		req := httptest.NewRequest(method, "/api/articles/", nil)
		req.Header.Set("Authorization", "Token "+reader)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		allow := w.Header().Values("Allow")
		slices.Sort(allow) // chi lists the methods in map order
		fmt.Println(method, w.Code, http.StatusText(w.Code), allow)
	}
	// Output:
	// GET 200 OK []
	// POST 403 Forbidden []
	// DELETE 405 Method Not Allowed [GET POST]
}
