package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// TestReplicas runs two replicas over each shared store whose server the
// environment names, and checks that a logout (or a logout-all) on one
// is refused by the other within bound: the revocation reaches the other
// replica's cache by the store's channel, not after the cache's TTL (30
// seconds). Each store gets a table or key prefix of its own, removed at
// the end.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example and runs it over live databases")
	}
	// Polling stores hear a revocation at the next poll; the slack is for
	// a loaded machine.
	const slack = 500 * time.Millisecond
	for _, tc := range []struct {
		name string
		env  string // the server's variable
		mode string // what /healthz says of the channel
		// open makes a fresh table or prefix on the server named by the
		// variable's value and returns the replica's arguments.
		open  func(t *testing.T, value string) []string
		bound time.Duration
	}{
		{"postgres", "TOKENAUTH_TEST_POSTGRES_DSN", sqlstore.WatchListen, postgresTable, slack},
		{"mysql", "TOKENAUTH_TEST_MYSQL_DSN", sqlstore.WatchPoll, mysqlTable, sqlstore.DefaultPollInterval + slack},
		{"redis", "TOKENAUTH_TEST_REDIS_ADDR", "", redisPrefix, slack},
		{"redis-cluster", "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS", "", redisPrefix, slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value := os.Getenv(tc.env)
			if value == "" {
				t.Skipf("%s skipped: set %s to its server", tc.name, tc.env)
			}
			t.Parallel()
			args := tc.open(t, value)
			env := []string{"TOKENAUTH_HMAC_KEY=" + newKey()}
			args = append(args, "-addr", "127.0.0.1:0")
			a := startReplica(t, "A", env, args...)
			b := startReplica(t, "B", env, args...)
			for _, r := range []*replica{a, b} {
				h := r.waitHealthy(t)
				assert.Equal(t, tc.mode, h.Revocations.Mode, "replica %s's channel", r.name)
			}

			var lags []time.Duration
			for i := range 6 {
				path := []string{"/api/logout/", "/api/logoutall/"}[i%2]
				token := loginAs(t, a, "alice")
				require.Equal(t, http.StatusOK, get(t, b, "/api/protected/", token), "B accepts A's token")
				require.Equal(t, http.StatusNoContent, post(t, a, path, token), "POST %s on A", path)
				// From A's answer: how long B accepts a token that A
				// said is revoked.
				start := time.Now()
				for get(t, b, "/api/protected/", token) != http.StatusUnauthorized {
					require.Less(t, time.Since(start), 10*time.Second, "B still accepts a token %s revoked", path)
					time.Sleep(2 * time.Millisecond)
				}
				lags = append(lags, time.Since(start).Round(100*time.Microsecond))
			}
			slices.Sort(lags)
			t.Logf("%s: a logout on A is refused by B after %v (median %v)", tc.name, lags, lags[len(lags)/2])
			assert.Less(t, lags[len(lags)-1], tc.bound, "the slowest revocation to reach B")
		})
	}
}

// exampleBinary is the example, built once by TestMain.
var exampleBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "production-example-")
	if err == nil {
		exampleBinary = filepath.Join(dir, "production")
		// Without -race: the processes are measured, not the test.
		out, buildErr := exec.Command("go", "build", "-o", exampleBinary, ".").CombinedOutput()
		if buildErr != nil {
			err = fmt.Errorf("go build: %w\n%s", buildErr, out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// replica is a running process of the example.
type replica struct {
	name, url string
	stderr    *syncBuffer // its log
}

// startReplica runs the example with args and the variables env until
// the test ends; it then stops it with SIGTERM, and expects a clean exit.
// Its log is shown if the test fails.
func startReplica(t *testing.T, name string, env []string, args ...string) *replica {
	t.Helper()
	cmd := exec.Command(exampleBinary, args...)
	cmd.Env = append(os.Environ(), env...)
	r := &replica{name: name, stderr: &syncBuffer{}}
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	listening := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		lines := bufio.NewScanner(pipe)
		for lines.Scan() {
			r.stderr.Write(append(lines.Bytes(), '\n'))
			var l struct{ Msg, URL string }
			if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "listening" {
				listening <- l.URL
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-copied; done <- cmd.Wait() }()
		select {
		case err := <-done:
			assert.NoError(t, err, "replica %s's exit after SIGTERM", name)
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("replica %s did not stop within 15 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("replica %s's log:\n%s", name, r.stderr.String())
		}
	})
	select {
	case r.url = <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %s is not listening after 30 s:\n%s", name, r.stderr.String())
	}
	return r
}

// waitHealthy waits until /healthz answers 200, and returns its answer.
func (r *replica) waitHealthy(t *testing.T) health {
	t.Helper()
	var h health
	require.Eventually(t, func() bool {
		resp, err := http.Get(r.url + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		h = health{}
		return json.NewDecoder(resp.Body).Decode(&h) == nil && resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "replica %s's /healthz", r.name)
	return h
}

// loginAs logs a demo user in on r and returns the token.
func loginAs(t *testing.T, r *replica, username string) string {
	t.Helper()
	resp, err := http.PostForm(r.url+"/api-token-auth/", url.Values{"username": {username}, "password": {demoPassword}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotEmpty(t, body.Token, "login on %s: %d", r.name, resp.StatusCode)
	return body.Token
}

func get(t *testing.T, r *replica, path, token string) int {
	return send(t, r, http.MethodGet, path, token)
}

func post(t *testing.T, r *replica, path, token string) int {
	return send(t, r, http.MethodPost, path, token)
}

// send sends a request with token and returns the status.
func send(t *testing.T, r *replica, method, path, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// newKey returns a fresh HMAC key, in hex.
func newKey() string {
	key := make([]byte, 32)
	rand.Read(key)
	return hex.EncodeToString(key)
}

// uniqueName is a table name or key prefix no parallel run shares.
func uniqueName() string {
	return "tokenauth_example_" + strings.ToLower(rand.Text()[:8])
}

// postgresTable is a fresh table in the PostgreSQL database at dsn.
func postgresTable(t *testing.T, dsn string) []string {
	return []string{"-store", "postgres", "-dsn", dsn, "-table", newPostgresTable(t, dsn)}
}

// newPostgresTable names a table for the test, dropped at its end with
// the tables and function named after it.
func newPostgresTable(t *testing.T, dsn string) string {
	table := uniqueName()
	dropAfter(t, "pgx", dsn,
		fmt.Sprintf(`DROP TABLE IF EXISTS "%[1]s", "%[1]s_revocations", "%[1]s_cutoffs", "%[1]s_imports"`, table),
		fmt.Sprintf(`DROP FUNCTION IF EXISTS "%s_notify"()`, table))
	return table
}

// mysqlTable is a fresh table in the MySQL database at dsn, dropped, with
// its triggers, at the end of the test.
func mysqlTable(t *testing.T, dsn string) []string {
	table := uniqueName()
	dropAfter(t, "mysql", dsn,
		fmt.Sprintf("DROP TABLE IF EXISTS `%[1]s`, `%[1]s_revocations`, `%[1]s_cutoffs`, `%[1]s_imports`", table))
	return []string{"-store", "mysql", "-dsn", dsn, "-table", table}
}

// dropAfter runs stmts when the test ends, after the replicas stopped
// (cleanups run last registered first).
func dropAfter(t *testing.T, driver, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	require.NoError(t, db.Ping(), "connecting to the %s database", driver)
	t.Cleanup(func() {
		defer db.Close()
		for _, s := range stmts {
			_, err := db.Exec(s)
			assert.NoError(t, err, s)
		}
	})
}

// redisPrefix is a fresh key prefix on the Redis server, or the cluster,
// at addrs (comma-separated); its keys are deleted at the end of the test.
func redisPrefix(t *testing.T, addrs string) []string {
	prefix := uniqueName() + ":"
	admin := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(addrs, ","), IsClusterMode: strings.Contains(addrs, ",")})
	require.NoError(t, admin.Ping(context.Background()).Err(), "connecting to %s", addrs)
	t.Cleanup(func() {
		defer admin.Close()
		ctx := context.Background()
		// On a cluster, the keys of one node may lie in several slots:
		// one by one.
		del := func(ctx context.Context, c *redis.Client) error {
			it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				if err := c.Unlink(ctx, it.Val()).Err(); err != nil {
					return err
				}
			}
			return it.Err()
		}
		var err error
		if cc, ok := admin.(*redis.ClusterClient); ok {
			err = cc.ForEachMaster(ctx, del)
		} else {
			err = del(ctx, admin.(*redis.Client))
		}
		assert.NoError(t, err, "deleting the keys under %s", prefix)
	})
	return []string{"-store", "redis", "-dsn", addrs, "-prefix", prefix}
}

// syncBuffer is a log written by one goroutine and read by the test's.
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
