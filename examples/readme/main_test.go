package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEShowsThisProgram keeps the README's program and this file the
// same, so the README cannot show code that does not compile.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../../README.md: this folder was copied out of the tokenauth repository")
	}
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## A complete net/http program\n\n```go\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README has no program section")
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	code := string(src[strings.Index(string(src), "package main"):])
	assert.Equal(t, code, string(m[1]))
}

// TestREADMETranscript runs the program and replays the README's curl
// transcript against it.
func TestREADMETranscript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a binary")
	}
	bin := filepath.Join(t.TempDir(), "readme")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "ADDR="+addr)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	key := strings.TrimSpace(strings.TrimPrefix(line, "token: "))
	require.True(t, strings.HasPrefix(key, "tka_"), "first line %q", line)

	get := func(header string) (int, string, http.Header) {
		var resp *http.Response
		for i := 0; i < 100; i++ { // wait for the listener
			req, _ := http.NewRequest("GET", "http://"+addr+"/hello", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	status, body, h := get("")
	assert.Equal(t, 401, status)
	assert.Equal(t, "Token", h.Get("WWW-Authenticate"))
	assert.Equal(t, `{"detail":"Authentication credentials were not provided."}`, body)
	status, body, _ = get("Token " + key)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello, alice\n", body)
	status, body, _ = get("Token tka_typo")
	assert.Equal(t, 401, status)
	assert.Equal(t, `{"detail":"Invalid token."}`, body)
}
