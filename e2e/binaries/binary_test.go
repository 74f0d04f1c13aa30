package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinary builds the command and runs it as a user does, from a fresh
// directory with default flags but the address: it creates quickstart.db
// there, serves, and exits 0 on SIGINT. Bad command lines exit 2, other
// failures 1.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	dir := t.TempDir()

	t.Run("serve and stop", func(t *testing.T) {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TOKENAUTH_HMAC_KEY=")
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		defer func() { _ = cmd.Process.Kill() }() // if the test fails before Wait

		var banner strings.Builder
		lines := bufio.NewScanner(stdout)
		var url string
		for url == "" && lines.Scan() {
			banner.WriteString(lines.Text() + "\n")
			if after, ok := strings.CutPrefix(lines.Text(), "Listening on "); ok {
				url = after
			}
		}
		require.NotEmpty(t, url, "no address in the output:\n%s", banner.String())
		m := regexp.MustCompile(`(?m)^alice token: (\S+)$`).FindStringSubmatch(banner.String())
		require.NotNil(t, m, banner.String())
		assert.FileExists(t, filepath.Join(dir, "quickstart.db"), "the default database is created in the working directory")

		req, err := http.NewRequest(http.MethodGet, url+"/api/protected/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Token "+m[1])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, `{"message":"ok","user":"alice"}`, string(body))

		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		rest, _ := io.ReadAll(stdout)
		require.NoError(t, cmd.Wait(), "exit status after SIGINT; stderr: %s", stderr.String())
		assert.Contains(t, string(rest), "path=/api/protected/ status=200")
		assert.Contains(t, string(rest), `msg="shutting down"`)
		assert.NotContains(t, string(rest), m[1], "logs never hold tokens")
	})

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stdout: "Usage: quickstart [flags]"},
		{name: "bad flag", args: []string{"-nope"}, code: 2, stdout: "flag provided but not defined: -nope"},
		{name: "bad database", args: []string{"-addr", "127.0.0.1:0", "-db", "oracle://db"}, code: 1,
			stderr: "quickstart: -db: sqlstore: unrecognised DSN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			require.NoError(t, cmd.Start())
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				} else {
					require.NoError(t, err)
				}
				assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatal("the command did not exit")
			}
			assert.Contains(t, stdout.String(), tt.stdout)
			assert.Contains(t, stderr.String(), tt.stderr)
		})
	}
}
