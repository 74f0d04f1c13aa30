package replicas

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startTimeout bounds a replica's start: connecting, migrating, and its
// cache's first subscription.
const startTimeout = 30 * time.Second

// binaries are the programs the suite runs, built once per test binary.
type binaries struct {
	replica string // ./replica
	cli     string // ../../cmd/tokenauth
}

var (
	buildOnce  sync.Once
	built      binaries
	buildError error
	// buildDir holds them; TestMain makes and removes it.
	buildDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokenauth-replicas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// long skips t unless TOKENAUTH_LONG is set and -short is not, and
// returns the binaries.
func long(t *testing.T) binaries {
	t.Helper()
	if os.Getenv("TOKENAUTH_LONG") == "" {
		t.Skip("builds and runs server processes for about a minute; set TOKENAUTH_LONG=1 to run it (bash .ci/run does)")
	}
	if testing.Short() {
		t.Skip("builds and runs the replicas")
	}
	return build(t)
}

// build compiles the replica and the CLI, without the race detector: it
// would slow the processes whose speed is measured.
func build(t *testing.T) binaries {
	t.Helper()
	buildOnce.Do(func() {
		for _, b := range []struct {
			out *string
			src string
		}{
			{&built.replica, "./replica"},
			{&built.cli, filepath.Join("..", "..", "cmd", "tokenauth")},
		} {
			bin := filepath.Join(buildDir, filepath.Base(b.src))
			cmd := exec.Command("go", "build", "-o", bin, ".")
			cmd.Dir = b.src
			if out, err := cmd.CombinedOutput(); err != nil {
				buildError = &buildFailure{src: b.src, out: string(out), err: err}
				return
			}
			*b.out = bin
		}
	})
	require.NoError(t, buildError)
	return built
}

type buildFailure struct {
	src, out string
	err      error
}

func (e *buildFailure) Error() string {
	return "building " + e.src + ": " + e.err.Error() + "\n" + e.out
}

// process is a running replica.
type process struct {
	URL    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// startReplica runs the replica with args until the end of the test; its
// standard error is logged if the test fails.
func startReplica(t *testing.T, bin, name string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	p := &process{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			t.Errorf("replica %s did not stop within 10 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("replica %s's standard error:\n%s", name, p.stderr.String())
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(line, "listening on ")
		require.True(t, ok, "replica %s's first line: %q", name, line)
		p.URL = url
	case err := <-p.done:
		p.done <- err
		t.Fatalf("replica %s exited: %v\n%s", name, err, p.stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("replica %s did not start within %s\n%s", name, startTimeout, p.stderr.String())
	}
	return p
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
