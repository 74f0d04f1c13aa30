package bench_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

func TestServers(t *testing.T) {
	for _, m := range bench.Modes {
		t.Run(string(m), func(t *testing.T) {
			cfg := testConfig(t, m, 40, 8)
			srv := newServer(t, cfg)
			assert.Equal(t, m, srv.Mode)
			require.Len(t, srv.Keys, 8)
			seen := map[string]bool{}
			wellFormed := regexp.MustCompile(`^tka_[0-9A-Za-z]{49}$`)
			if m == bench.JWTAuth {
				wellFormed = regexp.MustCompile(`^[\w-]+\.[\w-]+\.[\w-]+$`)
			}
			for _, key := range srv.Keys {
				assert.Regexp(t, wellFormed, key, "sample keys are well-formed")
				assert.False(t, seen[key], "sample keys are distinct")
				seen[key] = true

				r := httptest.NewRequest(http.MethodGet, bench.Path, nil)
				r.Header.Set("Authorization", m.Scheme()+" "+key)
				w := httptest.NewRecorder()
				srv.Handler.ServeHTTP(w, r)
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, bench.Body, w.Body.String())
			}

			ts := httptest.NewServer(srv.Handler)
			defer ts.Close()
			require.NoError(t, bench.Check(context.Background(), ts.Client(), ts.URL, m, srv.Keys[0]))
		})
	}
}

func TestCloseRemovesWhatNewCreated(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		cfg := testConfig(t, bench.SQLite, 10, 1)
		cfg.Dir = ""
		srv, err := bench.New(ctx, cfg)
		require.NoError(t, err)
		entries, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Len(t, entries, 1, "the database's directory")
		require.NoError(t, srv.Close())
		entries, err = os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, entries)
		require.NoError(t, srv.Close(), "a second Close does nothing")
	})
	t.Run("sqlite keeps a given directory", func(t *testing.T) {
		cfg := testConfig(t, bench.SQLite, 10, 1)
		srv, err := bench.New(ctx, cfg)
		require.NoError(t, err)
		require.NoError(t, srv.Close())
		assert.DirExists(t, cfg.Dir)
	})
	t.Run("postgres", func(t *testing.T) {
		cfg := testConfig(t, bench.Postgres, 10, 1)
		db, err := sql.Open("pgx", cfg.PostgresDSN)
		require.NoError(t, err)
		defer db.Close()
		// The tokens' table and the three sqlstore keeps beside it.
		tableExists := func() bool {
			for _, suffix := range []string{"", "_revocations", "_cutoffs", "_imports"} {
				var name sql.NullString
				require.NoError(t, db.QueryRowContext(ctx, "SELECT to_regclass($1)::text", cfg.Namespace+suffix).Scan(&name))
				if name.Valid {
					return true
				}
			}
			return false
		}
		srv, err := bench.New(ctx, cfg)
		require.NoError(t, err)
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM "`+cfg.Namespace+`"`).Scan(&n))
		assert.Equal(t, 10, n)
		require.NoError(t, srv.Close())
		assert.False(t, tableExists())

		// A table left by a run that was killed is replaced.
		_, err = db.ExecContext(ctx, `CREATE TABLE "`+cfg.Namespace+`" (stale int)`)
		require.NoError(t, err)
		newServer(t, cfg)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM "`+cfg.Namespace+`"`).Scan(&n))
		assert.Equal(t, 10, n)
	})
	t.Run("redis", func(t *testing.T) {
		cfg := testConfig(t, bench.Redis, 10, 1)
		client := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
		defer client.Close()
		pattern := "{" + cfg.Namespace + "}:*"
		stale := "{" + cfg.Namespace + "}:stale"
		require.NoError(t, client.Set(ctx, stale, "x", 0).Err())
		srv, err := bench.New(ctx, cfg)
		require.NoError(t, err)
		keys, err := client.Keys(ctx, pattern).Result()
		require.NoError(t, err)
		assert.NotEmpty(t, keys)
		assert.NotContains(t, keys, stale, "New drops what an earlier run left")
		require.NoError(t, srv.Close())
		keys, err = client.Keys(ctx, pattern).Result()
		require.NoError(t, err)
		assert.Empty(t, keys)
	})
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  bench.Config
		want string
	}{
		{"unknown mode", bench.Config{Mode: "nginx"}, `unknown mode "nginx"`},
		{"no mode", bench.Config{}, `unknown mode ""`},
		{"negative tokens", bench.Config{Mode: bench.Memstore, Tokens: -1}, "must be positive"},
		{"negative sample", bench.Config{Mode: bench.Memstore, Sample: -1}, "must be positive"},
		{"bad namespace", bench.Config{Mode: bench.Memstore, Namespace: "drop table;"}, "Namespace"},
		{"postgres without DSN", bench.Config{Mode: bench.Postgres}, "needs a PostgreSQL DSN"},
		{"postgres-cache without DSN", bench.Config{Mode: bench.PostgresCache}, "needs a PostgreSQL DSN"},
		{"postgres with a bad DSN", bench.Config{Mode: bench.Postgres, PostgresDSN: "postgres:x"}, "needs a postgres:// DSN"},
		{"postgres with a MySQL DSN", bench.Config{Mode: bench.Postgres, PostgresDSN: "mysql://root@127.0.0.1/test"}, "needs a postgres:// DSN"},
		{"pgx-select without DSN", bench.Config{Mode: bench.PgxSelect}, "needs a PostgreSQL DSN"},
		{"redis without address", bench.Config{Mode: bench.Redis}, "needs a Redis address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, err := bench.New(context.Background(), c.cfg)
			require.Error(t, err)
			assert.Nil(t, srv)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestNewCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := bench.New(ctx, bench.Config{Mode: bench.Memstore, Tokens: 100})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSampleSpreadsOverTokens(t *testing.T) {
	for _, c := range []struct{ tokens, sample, want int }{
		{1, 1000, 1},
		{10, 3, 3},
		{1000, 1000, 1000},
		{1001, 7, 7},
	} {
		srv := newServer(t, bench.Config{Mode: bench.EchoKeyAuth, Tokens: c.tokens, Sample: c.sample})
		assert.Len(t, srv.Keys, c.want)
		for _, k := range srv.Keys {
			assert.NotEmpty(t, k)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range bench.Modes {
		got, err := bench.ParseMode(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := bench.ParseMode("Memstore")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "memstore, postgres-cache")
	assert.Subset(t, bench.Modes, bench.DefaultModes)
	assert.NotContains(t, bench.DefaultModes, bench.Redis)
	for _, peer := range []bench.Mode{bench.EchoKeyAuth, bench.JWTAuth, bench.PgxSelect} {
		assert.Contains(t, bench.DefaultModes, peer, "the peers run by default")
	}
}

func TestModeStatuses(t *testing.T) {
	for _, c := range []struct {
		mode   bench.Mode
		auth   bool
		noCred int
	}{
		{bench.Bare, false, http.StatusOK},
		{bench.GinBare, false, http.StatusOK},
		{bench.EchoBare, false, http.StatusOK},
		{bench.Memstore, true, http.StatusUnauthorized},
		{bench.Gin, true, http.StatusUnauthorized},
		{bench.Postgres, true, http.StatusUnauthorized},
		{bench.EchoKeyAuth, true, http.StatusBadRequest},
		{bench.JWTAuth, true, http.StatusUnauthorized},
		{bench.PgxSelect, true, http.StatusUnauthorized},
	} {
		t.Run(string(c.mode), func(t *testing.T) {
			assert.Equal(t, c.auth, c.mode.Authenticates())
			assert.Equal(t, c.noCred, c.mode.NoCredentialsStatus())
			scheme := "Token"
			if c.mode == bench.JWTAuth {
				scheme = "Bearer"
			}
			assert.Equal(t, scheme, c.mode.Scheme())
		})
	}
}

// TestCheckFails checks that Check catches every way a server can answer
// wrongly, and never quotes the key.
func TestCheckFails(t *testing.T) {
	const key = "tka_secretsecretsecretsecretsecretsecretsecret1234567"
	ok := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(bench.Body))
	}
	for _, c := range []struct {
		name    string
		mode    bench.Mode
		handler http.HandlerFunc
		want    string
	}{
		{"refuses the valid key", bench.Memstore, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, "with a valid token: status 401, want 200"},
		{"wrong body", bench.Memstore, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"message":"ok"}` + "\n"))
		}, "body"},
		{"wrong content type", bench.Memstore, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(bench.Body))
		}, "Content-Type"},
		{"lets anonymous requests in", bench.Memstore, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(bench.Body))
		}, "with no credentials: status 200, want 401"},
		{"echo's 400 is not tokenauth's 401", bench.Memstore, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			ok(w, r)
		}, "with no credentials: status 400, want 401"},
		{"bare server that authenticates", bench.Bare, ok, "with no credentials: status 401, want 200"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := httptest.NewServer(c.handler)
			defer ts.Close()
			err := bench.Check(context.Background(), ts.Client(), ts.URL, c.mode, key)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), key)
		})
	}

	t.Run("passes a correct server", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(ok))
		defer ts.Close()
		require.NoError(t, bench.Check(context.Background(), ts.Client(), ts.URL, bench.Memstore, key))
	})
	t.Run("unreachable", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(ok))
		ts.Close()
		require.Error(t, bench.Check(context.Background(), ts.Client(), ts.URL, bench.Memstore, key))
	})
}
