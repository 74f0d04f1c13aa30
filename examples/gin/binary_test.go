package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinary builds the command and runs it as a user does, without
// GIN_MODE: gin runs in release mode, so nothing but the banner and the
// server's own log lines is printed, and the default database gin.db is
// created in the working directory.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	bin := filepath.Join(t.TempDir(), "gin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	dir := t.TempDir()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, gin.EnvGinMode+"=") && !strings.HasPrefix(kv, "TOKENAUTH_HMAC_KEY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }() // if the test fails before Wait

	var out strings.Builder
	lines := bufio.NewScanner(stdout)
	var url string
	for url == "" && lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if after, ok := strings.CutPrefix(lines.Text(), "Listening on "); ok {
			url = after
		}
	}
	require.NotEmpty(t, url, "no address in the output:\n%s", out.String())
	assert.FileExists(t, filepath.Join(dir, "gin.db"))

	resp, err := http.Get(url + "/api/public/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, `{"message":"public"}`, string(body))

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	require.NoError(t, cmd.Wait(), "exit status after SIGINT; stderr: %s", stderr.String())
	assert.Equal(t, 1, strings.Count(out.String(), "path=/api/public/"), "one log line per request:\n%s", out.String())
	assert.NotContains(t, out.String()+stderr.String(), "[GIN", "gin runs in release mode")
	assert.Empty(t, stderr.String())
}
