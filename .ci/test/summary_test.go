package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The variables are spelled through backends so that this package's own
// tests do not look like a live suite to findSuites.
var (
	pgEnv    = backends[0].env
	mysqlEnv = backends[1].env
	redisEnv = backends[2].env
)

const mod = "example.com/m"

// stream encodes events as go test -json writes them.
func stream(t *testing.T, events ...event) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	for _, e := range events {
		require.NoError(t, json.NewEncoder(&b).Encode(e))
	}
	return &b
}

func TestRun(t *testing.T) {
	in := stream(t,
		event{Action: "start", Package: mod},
		event{Action: "run", Package: mod, Test: "TestA"},
		event{Action: "output", Package: mod, Test: "TestA", Output: "=== RUN   TestA\n"},
		event{Action: "output", Package: mod, Test: "TestA", Output: "    a_test.go:9: " + "store does not implement X\n"},
		event{Action: "output", Package: mod, Test: "TestA", Output: "--- SKIP: TestA (0.00s)\n"},
		event{Action: "skip", Package: mod, Test: "TestA"},
		event{Action: "output", Package: mod, Output: "PASS\n"},
		event{Action: "output", Package: mod, Output: "ok  \texample.com/m\t0.1s\n"},
		event{Action: "pass", Package: mod},

		event{Action: "output", Package: mod + "/db", Test: "TestStore/mysql", Output: "=== RUN   TestStore/mysql\n"},
		event{Action: "output", Package: mod + "/db", Test: "TestStore/mysql", Output: "    h_test.go:60: mysql tests skipped: set " + mysqlEnv + " to a DSN\n"},
		event{Action: "skip", Package: mod + "/db", Test: "TestStore/mysql"},
		event{Action: "pass", Package: mod + "/db", Test: "TestStore"},
		event{Action: "output", Package: mod + "/db", Output: "ok  \texample.com/m/db\t2.0s\n"},
		event{Action: "pass", Package: mod + "/db"},

		event{Action: "output", Package: mod + "/app", Test: "TestSoak", Output: "=== RUN   TestSoak\n"},
		event{Action: "output", Package: mod + "/app", Test: "TestSoak", Output: "    soak_test.go:1: too slow\n"},
		event{Action: "output", Package: mod + "/app", Test: "TestSoak", Output: "--- FAIL: TestSoak (60.00s)\n"},
		event{Action: "fail", Package: mod + "/app", Test: "TestSoak"},
		event{Action: "output", Package: mod + "/app", Output: "FAIL\n"},
		event{Action: "output", Package: mod + "/app", Output: "FAIL\texample.com/m/app\t61.0s\n"},
		event{Action: "fail", Package: mod + "/app"},

		event{Action: "build-output", Output: "# example.com/m/broken\n"},
	)
	in.WriteString("go: warning: not an event\n")

	var out bytes.Buffer
	r := newRun(&out)
	require.NoError(t, r.read(in))
	env := map[string]string{pgEnv: "postgres://127.0.0.1/test"}
	r.summarize(map[string][]string{
		mod + "/db":  {pgEnv, mysqlEnv},
		mod + "/app": {pgEnv},
		mod:          {redisEnv},
	}, func(k string) string { return env[k] }, 61400*time.Millisecond)

	want := `ok  	example.com/m	0.1s
ok  	example.com/m/db	2.0s
    soak_test.go:1: too slow
--- FAIL: TestSoak (60.00s)
FAIL
FAIL	example.com/m/app	61.0s
# example.com/m/broken
go: warning: not an event

live-database suites:
  PostgreSQL     ran in app (FAIL), db (` + pgEnv + ` is set)
  MySQL/MariaDB  skipped: ` + mysqlEnv + ` is not set
                 1 test skipped in db; e.g. db: mysql tests skipped: set ` + mysqlEnv + ` to a DSN
  Redis          skipped: ` + redisEnv + ` is not set
  Redis Cluster  not run: TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS is not set
  PgBouncer      not run: TOKENAUTH_TEST_PGBOUNCER_DSN is not set
other skipped tests (1):
  . TestA: store does not implement X
FAIL: 1 of 3 packages failed in 1m1s: app
`
	assert.Equal(t, want, out.String())
}

func TestSummaryWhenAllPass(t *testing.T) {
	tests := []struct {
		name     string
		skips    int
		wantLine string
	}{
		{"no skips", 0, "ok: 1 package in 2s\n"},
		{"many other skips", maxOtherSkips + 2, "  … and 2 more\nok: 1 package in 2s\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			r := newRun(&out)
			for range tc.skips {
				r.handle(event{Action: "skip", Package: mod, Test: "TestX"})
			}
			r.handle(event{Action: "pass", Package: mod})
			r.summarize(nil, func(string) string { return "" }, 2*time.Second)
			assert.True(t, strings.HasSuffix(out.String(), tc.wantLine), out.String())
			assert.Contains(t, out.String(), "  Redis          not run: "+redisEnv+" is not set\n")
		})
	}
}

func TestSkipReason(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"log prefix dropped", []string{"=== RUN   TestX\n", "    x_test.go:12: set A to run\n", "--- SKIP: TestX (0.00s)\n"}, "set A to run"},
		{"colon in message kept", []string{"    suite.go:315: store: no purge\n"}, "store: no purge"},
		{"no message", []string{"=== RUN   TestX\n", "--- SKIP: TestX (0.00s)\n"}, "no reason given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, skipReason(tc.lines))
		})
	}
}

func TestShortener(t *testing.T) {
	tests := []struct {
		name string
		pkgs []string
		in   string
		want string
	}{
		{"root package", []string{"m/a", "m", "m/b/c"}, "m", "."},
		{"under the root", []string{"m/a", "m", "m/b/c"}, "m/b/c", "b/c"},
		{"no shared package", []string{"m/x/a", "m/x/b"}, "m/x/a", "a"},
		{"prefix of a name is no package", []string{"m/mem", "m/memstore"}, "m/memstore", "memstore"},
		{"one package", []string{"m/a"}, "m/a", "m/a"},
		{"outside the root", []string{"m", "m/a", "m/b", "tools/x"}, "tools/x", "tools/x"},
		{"root with the fewest", []string{"m", "m/a", "m/a/b", "m/a/c"}, "m/a/b", "a/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, shortener(tc.pkgs)(tc.in))
		})
	}
}

func TestFindSuites(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                "module example.com/m\n\ngo 1.25.0\n",
		"helper/helper.go":      "package helper\n\nconst Env = \"" + pgEnv + "\"\n",
		"db/db.go":              "package db\n",
		"db/db_test.go":         "package db\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/helper\"\n)\n\nfunc TestDB(t *testing.T) { _ = helper.Env }\n",
		"cache/cache.go":        "package cache\n",
		"cache/cache_x_test.go": "package cache_test\n\nimport \"testing\"\n\nfunc TestC(t *testing.T) { t.Log(\"" + redisEnv + "\") }\n",
		"plain/plain.go":        "package plain\n\n// Not a test: " + mysqlEnv + "\n",
		"plain/plain_test.go":   "package plain\n\nimport \"testing\"\n\nfunc TestP(t *testing.T) {}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")

	suites, err := findSuites([]string{"example.com/m/db", "example.com/m/cache", "example.com/m/plain"})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{
		"example.com/m/db":    {pgEnv},
		"example.com/m/cache": {redisEnv},
	}, suites)
}
