package demotest

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
)

// Route is one request of Routing and the answer it must get.
type Route struct {
	Method, Path string
	Token        bool // send alice's token
	Status       int
	Body         string // exact body
}

// notAllowed is DRF's 405 body for GET.
const notAllowed = `{"detail":"Method \"GET\" not allowed."}`

// commonRoutes are the answers every example server gives alike: the login,
// logout and sign-up routes take every method and answer a wrong one with
// DRF's 405, and logout without a token is refused.
var commonRoutes = []Route{
	{Method: "GET", Path: "/api-token-auth/", Status: 405, Body: notAllowed},
	{Method: "GET", Path: "/api/signup/", Status: 405, Body: notAllowed},
	{Method: "GET", Path: "/api/logout/", Token: true, Status: 405, Body: notAllowed},
	{Method: "GET", Path: "/api/logoutall/", Token: true, Status: 405, Body: notAllowed},
	{Method: "GET", Path: "/api/logout/", Status: 401, Body: `{"detail":"Authentication credentials were not provided."}`},
}

// Routing starts the server run builds and checks the common answers plus
// the framework's own (its 404 and 405 for unknown paths and methods), and
// that each request is logged exactly once.
func Routing(t *testing.T, run RunFunc, framework ...Route) {
	t.Helper()
	t.Setenv(demoapp.HMACKeyEnv, "")
	s := Start(t, run, filepath.Join(t.TempDir(), "routing.db"))
	for _, tt := range append(append([]Route(nil), commonRoutes...), framework...) {
		t.Run(fmt.Sprint(tt.Method, " ", tt.Path, " ", tt.Status), func(t *testing.T) {
			req, err := http.NewRequest(tt.Method, s.URL+tt.Path, nil)
			require.NoError(t, err)
			if tt.Token {
				req.Header.Set("Authorization", "Token "+s.AliceToken)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tt.Status, resp.StatusCode)
			assert.Equal(t, tt.Body, string(body))
			logged := fmt.Sprintf("msg=request method=%s path=%s status=%d ", tt.Method, tt.Path, tt.Status)
			assert.Equal(t, 1, strings.Count(s.Logs(), logged), "logged once: %s", s.Logs())
		})
	}
}
