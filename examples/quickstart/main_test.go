package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
	"github.com/go-tokenauth/tokenauth/examples/internal/demotest"
)

// TestFlow walks the whole API over real HTTP: demo tokens, sign-up,
// login, protected and public routes, logout, reuse of a revoked token.
func TestFlow(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	tests := []struct {
		name string
		args []string
	}{
		{name: "defaults"},
		{name: "cache", args: []string{"-cache", "1m"}},
		{name: "hmac", args: []string{"-hmac-key", hex.EncodeToString(key)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { demotest.Flow(t, run, tt.args...) })
	}
}

// TestRestart starts the server twice on one database.
func TestRestart(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	demotest.Restart(t, run)
}

// TestLoginLimit checks that failed logins are throttled by default and
// that -login-limit sets the limit.
func TestLoginLimit(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	tests := []struct {
		args  []string
		limit int // failed logins before 429; 0 means never
	}{
		{limit: demoapp.DefaultLoginLimit},
		{args: []string{"-login-limit", "2"}, limit: 2},
		{args: []string{"-login-limit", "0"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			s := demotest.Start(t, run, filepath.Join(t.TempDir(), "limit.db"), append(tt.args, "-demo-users=false")...)
			attempts := max(tt.limit, demoapp.DefaultLoginLimit) + 1
			for i := range attempts {
				r := s.Request(t, http.MethodPost, "/api-token-auth/", "", "username=mallory&password=guess"+fmt.Sprint(i))
				if tt.limit > 0 && i >= tt.limit {
					require.Equal(t, http.StatusTooManyRequests, r.Status, "attempt %d", i+1)
					assert.NotEmpty(t, r.Header.Get("Retry-After"))
					assert.Regexp(t, `^Request was throttled\. Expected available in \d+ seconds?\.$`, r.Body["detail"])
					return
				}
				require.Equal(t, http.StatusBadRequest, r.Status, "attempt %d", i+1)
			}
			assert.Zero(t, tt.limit, "never throttled")
		})
	}
}

// TestNoDemoUsers checks -demo-users=false: no user is created, and the
// banner shows how to sign up instead.
func TestNoDemoUsers(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	s := demotest.Start(t, run, filepath.Join(t.TempDir(), "empty.db"), "-demo-users=false")
	assert.Empty(t, s.AliceToken)
	assert.Contains(t, s.Output(), "Sign up for a token")
	assert.NotContains(t, s.Output(), "alice")
	r := s.Request(t, http.MethodPost, "/api-token-auth/", "", "username=alice&password=password")
	assert.Equal(t, http.StatusBadRequest, r.Status, "alice does not exist")
}

// TestCommandLine checks that bad command lines and settings fail before
// serving, saying what to do.
func TestCommandLine(t *testing.T) {
	t.Setenv(demoapp.HMACKeyEnv, "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	tests := []struct {
		name    string
		args    []string
		is      error  // errors.Is the result, if set
		errText string // in the result's text, if set
		out     string // in the output
	}{
		{name: "help", args: []string{"-h"}, is: flag.ErrHelp, out: "Usage: quickstart [flags]"},
		{name: "unknown flag", args: []string{"-nope"}, is: demoapp.ErrUsage, out: "flag provided but not defined: -nope"},
		{name: "argument", args: []string{"serve"}, is: demoapp.ErrUsage, out: `unexpected argument "serve"; every setting is a flag`},
		{name: "negative cache", args: []string{"-cache", "-1s"}, is: demoapp.ErrUsage, out: "-cache must not be negative"},
		{name: "negative limit", args: []string{"-login-limit", "-1"}, is: demoapp.ErrUsage, out: "-login-limit must not be negative"},
		{name: "bad hmac key", args: []string{"-hmac-key", "not-hex"}, is: demoapp.ErrUsage, out: "openssl rand -hex 32"},
		{name: "bad dsn", args: []string{"-addr", "127.0.0.1:0", "-db", "oracle://db"}, errText: "-db: sqlstore: unrecognised DSN"},
		{name: "port taken", args: []string{"-addr", taken.Addr().String(), "-db", filepath.Join(t.TempDir(), "x.db")},
			errText: "pass a free address with -addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Contains(t, err.Error(), tt.errText)
			assert.Contains(t, out.String(), tt.out)
			assert.NotContains(t, out.String(), "Listening on")
		})
	}
}
