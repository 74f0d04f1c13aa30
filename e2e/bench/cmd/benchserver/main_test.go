package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

func TestServeCheckStop(t *testing.T) {
	for _, c := range []struct {
		mode, line string
		// bareFails is how the bare server's check of it fails.
		bareFails string
	}{
		{"memstore", `^Token tka_\w+$`, "no credentials"},
		// The bare mode sends the JWT after "Token", which jwtauth refuses.
		{"jwtauth", `^Bearer [\w-]+\.[\w-]+\.[\w-]+$`, "with a valid token: status 401"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			keys := filepath.Join(t.TempDir(), "keys")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"-mode", c.mode, "-tokens", "50", "-sample", "5", "-keys", keys}, pw)
				pw.Close()
			}()

			line, err := bufio.NewReader(pr).ReadString('\n')
			require.NoError(t, err)
			url, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
			require.True(t, ok, "first line %q", line)
			require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)

			written, err := os.ReadFile(keys)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSuffix(string(written), "\n"), "\n")
			require.Len(t, lines, 5)
			for _, l := range lines {
				assert.Regexp(t, c.line, l, "one Authorization header value a line")
			}

			require.NoError(t, run(ctx, []string{"-mode", c.mode, "-keys", keys, "-check", url + "/"}, io.Discard))
			err = run(ctx, []string{"-mode", "bare", "-keys", keys, "-check", url}, io.Discard)
			require.Error(t, err, "a server that authenticates fails the bare server's check")
			assert.Contains(t, err.Error(), c.bareFails)

			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not stop")
			}
		})
	}
}

func TestList(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-list"}, &out))
	var want strings.Builder
	for _, m := range bench.DefaultModes {
		want.WriteString(string(m) + "\n")
	}
	assert.Equal(t, want.String(), out.String())
}

func TestBadArguments(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no mode", []string{"-keys", "k"}, "unknown mode"},
		{"unknown mode", []string{"-mode", "nginx", "-keys", "k"}, `unknown mode "nginx"`},
		{"no keys file", []string{"-mode", "bare"}, "-keys is required"},
		{"extra argument", []string{"-mode", "bare", "-keys", "k", "now"}, "unexpected arguments"},
		{"unknown flag", []string{"-mode", "bare", "-port", "80"}, "flag provided but not defined"},
		{"check without keys", []string{"-mode", "bare", "-keys", filepath.Join(t.TempDir(), "none"), "-check", "http://127.0.0.1:1"}, "no such file"},
		{"check with no key", []string{"-mode", "bare", "-keys", empty, "-check", "http://127.0.0.1:1"}, "is empty"},
		{"unwritable keys file", []string{"-mode", "bare", "-keys", filepath.Join(t.TempDir(), "no", "dir")}, "no such file"},
		{"bad address", []string{"-mode", "bare", "-keys", filepath.Join(t.TempDir(), "k"), "-addr", "127.0.0.1:x"}, "unknown port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), c.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
