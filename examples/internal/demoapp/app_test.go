package demoapp

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
)

func TestLogRequests(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  string
	}{
		{"WriteHeader", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, "status=418"},
		{"Write only", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") }, "status=200"},
		{"nothing", func(w http.ResponseWriter, r *http.Request) {}, "status=200"},
		{"early hints", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, "status=201"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest("POST", "/api/x/?token=tka_query", strings.NewReader("password=body-secret"))
			r.Header.Set("Authorization", "Token tka_header")
			logRequests(logger, tt.handler).ServeHTTP(httptest.NewRecorder(), r)
			line := logs.String()
			assert.Regexp(t, `level=INFO msg=request method=POST path=/api/x/ `+tt.status+` duration=\S+ remote=192\.0\.2\.1:1234\n$`, line)
			for _, secret := range []string{"tka_query", "tka_header", "body-secret"} {
				assert.NotContains(t, line, secret)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:8000": "http://127.0.0.1:8000",
		"0.0.0.0:8000":   "http://127.0.0.1:8000",
		"[::]:80":        "http://127.0.0.1:80",
		"[::1]:8080":     "http://[::1]:8080",
	}
	for addr, want := range tests {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, want, baseURL(tcp), addr)
	}
}

func TestParseFlags(t *testing.T) {
	const key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	keyBytes := make([]byte, 32)
	for i := range keyBytes {
		keyBytes[i] = byte(i)
	}
	defaults := Config{Name: "demo", Addr: "127.0.0.1:8000", DB: "demo.db", LoginLimit: DefaultLoginLimit, DemoUsers: true}
	tests := []struct {
		name string
		args []string
		env  string // $TOKENAUTH_HMAC_KEY
		want func(*Config)
	}{
		{name: "defaults"},
		{name: "every flag",
			args: []string{"-addr", ":9000", "-db", "postgres://db/app", "-cache", "30s", "-login-limit", "0", "-hmac-key", key, "-demo-users=false"},
			want: func(c *Config) {
				c.Addr, c.DB, c.Cache, c.LoginLimit, c.HMACKey, c.DemoUsers = ":9000", "postgres://db/app", 30*time.Second, 0, keyBytes, false
			}},
		{name: "key from the environment", env: key, want: func(c *Config) { c.HMACKey = keyBytes }},
		{name: "flag before environment", args: []string{"-hmac-key", key}, env: "not hex", want: func(c *Config) { c.HMACKey = keyBytes }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(HMACKeyEnv, tt.env)
			want := defaults
			if tt.want != nil {
				tt.want(&want)
			}
			var out bytes.Buffer
			got, err := ParseFlags("demo", tt.args, &out)
			require.NoError(t, err, out.String())
			assert.Equal(t, want, got)
			assert.Empty(t, out.String())
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		out  string
	}{
		{name: "unknown flag", args: []string{"-port", "80"}, out: "flag provided but not defined: -port"},
		{name: "argument", args: []string{"x"}, out: `demo: unexpected argument "x"`},
		{name: "empty addr", args: []string{"-addr", ""}, out: "-addr is empty"},
		{name: "empty db", args: []string{"-db", ""}, out: "-db is empty"},
		{name: "negative cache", args: []string{"-cache", "-1m"}, out: "-cache must not be negative"},
		{name: "bad duration", args: []string{"-cache", "soon"}, out: `invalid value "soon" for flag -cache`},
		{name: "negative limit", args: []string{"-login-limit", "-3"}, out: "-login-limit must not be negative"},
		{name: "key not hex", args: []string{"-hmac-key", "hunter2-hunter2"}, out: "must be hex-encoded; generate one with: openssl rand -hex 32"},
		{name: "short key", env: "00112233", out: "the HMAC key is 4 bytes, need at least 32"},
		{name: "several", args: []string{"-cache", "-1m", "-login-limit", "-1"}, out: "-login-limit must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(HMACKeyEnv, tt.env)
			var out bytes.Buffer
			_, err := ParseFlags("demo", tt.args, &out)
			assert.ErrorIs(t, err, ErrUsage)
			assert.Contains(t, out.String(), tt.out)
			assert.NotContains(t, out.String()+err.Error(), "hunter2", "keys are never echoed")
		})
	}

	var out bytes.Buffer
	_, err := ParseFlags("demo", []string{"-h"}, &out)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, out.String(), "Usage: demo [flags]")
	assert.Contains(t, out.String(), "-login-limit")
}

func TestMessages(t *testing.T) {
	alice := &User{ID: "1", Username: "alice", Active: true}
	assert.Equal(t, Message{Message: "ok", User: "alice"}, Protected(alice))
	assert.Equal(t, Message{Message: "public", User: "alice"}, Public(alice))
	assert.Equal(t, Message{Message: "public"}, Public(nil))
	w := httptest.NewRecorder()
	tokenauth.WriteJSON(w, http.StatusOK, Public(nil))
	assert.Equal(t, `{"message":"public"}`, w.Body.String())
}
