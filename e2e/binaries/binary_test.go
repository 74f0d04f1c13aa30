package binaries

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is an example server and how to use it: log in with the demo
// user, then call a protected route with the key.
type server struct {
	name               string
	login, protected   string
	username, password string
	keyword            string // "" for a raw Authorization header
	protectedBody      string
}

var servers = []server{
	{"quickstart", "/api-token-auth/", "/api/protected/", "alice", "password", "Token ", `{"message":"ok","user":"alice"}`},
	{"gin", "/api-token-auth/", "/api/protected/", "alice", "password", "Token ", `{"message":"ok","user":"alice"}`},
	{"echo", "/api-token-auth/", "/api/protected/", "alice", "password", "Token ", `{"message":"ok","user":"alice"}` + "\n"},
	{"chi", "/api-token-auth/", "/api/protected/", "alice", "password", "Token ", `{"message":"ok","user":"alice"}`},
	{"custom", "/custom_login/", "/protected_view/", "admin", "admin", "", `{"message":"Welcome, you are authenticated!"}`},
	{"drf", "/api/login/", "/api/protected/", "alice", "password", "Token ", `{"message":"You have access to this protected endpoint."}`},
}

// build compiles ../../examples/name into dir.
func build(t *testing.T, name, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "examples", name)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building examples/%s: %s", name, out)
	return bin
}

// environ is the test's environment without GIN_MODE, as a user's shell
// has it.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIN_MODE=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestServers builds every example server and runs it as a user does,
// from a fresh directory with the default -db: it creates NAME.db there,
// logs the demo user in, serves the protected route, and exits 0 on
// SIGINT without a key in its output. Then it checks the exit codes of
// bad command lines.
func TestServers(t *testing.T) {
	if os.Getenv("TOKENAUTH_LONG") == "" {
		t.Skip("builds and runs server processes for about a minute; set TOKENAUTH_LONG=1 to run it (bash .ci/run does)")
	}
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	bins := t.TempDir()
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			bin := build(t, s.name, bins)
			dir := t.TempDir()
			base, stop := serve(t, bin, dir)
			assert.FileExists(t, filepath.Join(dir, s.name+".db"), "the default database, in the working directory")

			key := login(t, base+s.login, s.username, s.password)
			status, body := get(t, base+s.protected, s.keyword+key)
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, s.protectedBody, body)
			status, _ = get(t, base+s.protected, "")
			assert.Equal(t, http.StatusUnauthorized, status)

			logs := stop()
			assert.NotContains(t, logs, key, "the output never holds a key")

			taken, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer taken.Close()
			for _, tt := range []struct {
				args   []string
				code   int
				output string
			}{
				{[]string{"-h"}, 0, "-addr address"},
				{[]string{"-nope"}, 2, "flag provided but not defined: -nope"},
				{[]string{"-addr", taken.Addr().String()}, 1, s.name + ": listen tcp"},
			} {
				cmd := exec.Command(bin, tt.args...)
				cmd.Dir, cmd.Env = dir, environ()
				out, err := cmd.CombinedOutput()
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				} else {
					require.NoError(t, err)
				}
				assert.Equal(t, tt.code, code, "%v: %s", tt.args, out)
				assert.Contains(t, string(out), tt.output, "%v", tt.args)
			}
		})
	}
}

// TestClient runs examples/client against the quickstart: it logs in,
// calls the protected route and logs out.
func TestClient(t *testing.T) {
	if os.Getenv("TOKENAUTH_LONG") == "" {
		t.Skip("builds and runs server processes for about a minute; set TOKENAUTH_LONG=1 to run it (bash .ci/run does)")
	}
	if testing.Short() {
		t.Skip("builds and runs examples")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	bins := t.TempDir()
	base, stop := serve(t, build(t, "quickstart", bins), t.TempDir())
	defer stop()
	cmd := exec.Command(build(t, "client", bins), "-url", base, "-username", "alice")
	cmd.Env = append(environ(), "CLIENT_PASSWORD=password")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "logged in as alice\n"+
		"GET /api/protected/: 200 OK {\"message\":\"ok\",\"user\":\"alice\"}\n"+
		"POST /api/logout/: 204 No Content \n", string(out))

	cmd = exec.Command(build(t, "client", bins), "-url", base, "-username", "alice")
	cmd.Env = append(environ(), "CLIENT_PASSWORD=wrong")
	out, err = cmd.CombinedOutput()
	assert.Error(t, err)
	assert.Equal(t, "client: wrong username or password\n", string(out))
}

// serve starts bin with -addr 127.0.0.1:0 in dir and returns its base URL
// and a function that stops it with SIGINT, checks that it exits 0, and
// returns everything it printed. The server is stopped at the end of the
// test in any case.
func serve(t *testing.T, bin, dir string) (string, func() string) {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, environ()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var banner strings.Builder
	lines := bufio.NewScanner(stdout)
	base := ""
	for base == "" && lines.Scan() {
		banner.WriteString(lines.Text() + "\n")
		if after, ok := strings.CutPrefix(lines.Text(), "Listening on "); ok {
			base = after
		}
	}
	require.NotEmpty(t, base, "no address in the output:\n%s\nstderr: %s", banner.String(), stderr.String())
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stdout)
		rest <- string(b)
	}()
	stopped := false
	return base, func() string {
		if stopped {
			return ""
		}
		stopped = true
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			assert.NoError(t, err, "exit status after SIGINT; stderr: %s", stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not stop within 30 s of SIGINT")
		}
		return banner.String() + <-rest + stderr.String()
	}
}

// login posts a username and password as a form and returns the token.
func login(t *testing.T, endpoint, username, password string) string {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{"username": {username}, "password": {password}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct{ Token string }
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	require.NotEmpty(t, v.Token)
	return v.Token
}

func get(t *testing.T, u, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// syncBuffer is a bytes.Buffer that a command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
