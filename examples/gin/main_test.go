package main

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"

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
// unknown routes and methods get gin's 404 (demotest.Routing checks the
// answers every example shares).
func TestRouting(t *testing.T) {
	demotest.Routing(t, run,
		demotest.Route{Method: "POST", Path: "/api/protected/", Token: true, Status: 404, Body: "404 page not found"},
		demotest.Route{Method: "GET", Path: "/api/nothing/", Token: true, Status: 404, Body: "404 page not found"},
	)
}
