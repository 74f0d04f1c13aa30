package bench_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

// testConfig returns the Config of mode m for this module's tests and
// benchmarks, or skips when m needs a server whose address is not set.
// Tests use their own namespace, apart from run.sh's.
func testConfig(tb testing.TB, m bench.Mode, tokens, sample int) bench.Config {
	tb.Helper()
	cfg := bench.Config{
		Mode:        m,
		Tokens:      tokens,
		Sample:      sample,
		PostgresDSN: os.Getenv("TOKENAUTH_TEST_POSTGRES_DSN"),
		RedisAddr:   os.Getenv("TOKENAUTH_TEST_REDIS_ADDR"),
		Namespace:   "tokenauth_benchtest_" + strings.ReplaceAll(string(m), "-", "_"),
		Dir:         tb.TempDir(),
	}
	switch m {
	case bench.Postgres, bench.PostgresCache, bench.PostgresCacheMetrics, bench.PostgresCacheOtel, bench.PgxSelect:
		if cfg.PostgresDSN == "" {
			tb.Skip("TOKENAUTH_TEST_POSTGRES_DSN is not set; set it to a postgres:// URL to run this against PostgreSQL")
		}
	case bench.Redis, bench.RedisCache:
		if cfg.RedisAddr == "" {
			tb.Skip("TOKENAUTH_TEST_REDIS_ADDR is not set; set it to host:port of a Redis server to run this against Redis")
		}
	}
	return cfg
}

// newServer builds and seeds the server of cfg, closed when the test ends.
func newServer(tb testing.TB, cfg bench.Config) *bench.Server {
	tb.Helper()
	srv, err := bench.New(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, srv.Close()) })
	return srv
}

// discardWriter is a ResponseWriter that keeps the status and allocates
// nothing, so that benchmarks measure the handler, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
