package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
	"github.com/go-tokenauth/tokenauth/examples/internal/demotest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// TestFlow walks the whole API over real HTTP: demo tokens, sign-up,
// login, protected and public routes, logout, reuse of a revoked token.
func TestFlow(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	demotest.Flow(t, run)
}

// TestRestart starts the server twice on one database.
func TestRestart(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	demotest.Restart(t, run)
}

// TestRouting checks the answers gin's router gives besides the API's:
// the login, logout and sign-up routes take every method and answer the
// wrong ones with DRF's 405, while other unknown routes and methods get
// gin's 404. Each request is logged once.
func TestRouting(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	s := demotest.Start(t, run, filepath.Join(t.TempDir(), "routing.db"))
	notAllowed := `{"detail":"Method \"GET\" not allowed."}`
	tests := []struct {
		method, path string
		token        bool
		status       int
		body         string
	}{
		{method: "GET", path: "/api-token-auth/", status: 405, body: notAllowed},
		{method: "GET", path: "/api/signup/", status: 405, body: notAllowed},
		{method: "GET", path: "/api/logout/", token: true, status: 405, body: notAllowed},
		{method: "GET", path: "/api/logoutall/", token: true, status: 405, body: notAllowed},
		{method: "GET", path: "/api/logout/", status: 401, body: `{"detail":"Authentication credentials were not provided."}`},
		{method: "POST", path: "/api/protected/", token: true, status: 404, body: "404 page not found"},
		{method: "GET", path: "/api/nothing/", token: true, status: 404, body: "404 page not found"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.method, " ", tt.path, " ", tt.status), func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL+tt.path, nil)
			require.NoError(t, err)
			if tt.token {
				req.Header.Set("Authorization", "Token "+s.AliceToken)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.body, string(body))
			logged := fmt.Sprintf("msg=request method=%s path=%s status=%d ", tt.method, tt.path, tt.status)
			assert.Equal(t, 1, strings.Count(s.Logs(), logged), "logged once: %s", s.Logs())
		})
	}
}
