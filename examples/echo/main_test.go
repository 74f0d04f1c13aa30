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

// TestRouting checks the answers echo's router gives besides the API's:
// a wrong method gets echo's 405 and an unknown path echo's 404, not the
// 401 that group middleware would give them (demotest.Routing checks the
// answers every example shares).
func TestRouting(t *testing.T) {
	demotest.Routing(t, run,
		demotest.Route{Method: "POST", Path: "/api/protected/", Token: true, Status: 405, Body: `{"message":"Method Not Allowed"}` + "\n"},
		demotest.Route{Method: "GET", Path: "/api/nothing/", Status: 404, Body: `{"message":"Not Found"}` + "\n"},
	)
}
