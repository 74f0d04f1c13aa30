package main

import (
	"testing"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
	"github.com/go-tokenauth/tokenauth/examples/internal/demotest"
)

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

// TestRouting checks the answers chi's router gives besides the API's:
// a wrong method on other routes gets chi's empty 405, an unknown path
// chi's 404 (demotest.Routing checks the answers every example shares).
func TestRouting(t *testing.T) {
	demotest.Routing(t, run,
		demotest.Route{Method: "POST", Path: "/api/protected/", Token: true, Status: 405},
		demotest.Route{Method: "GET", Path: "/api/nothing/", Status: 404, Body: "404 page not found\n"},
	)
}
