package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Environment variables naming the live servers.
const (
	envPostgres = "TOKENAUTH_TEST_POSTGRES_DSN"
	envRedis    = "TOKENAUTH_TEST_REDIS_ADDR"
)

// backend is a shared store the tests run against. open returns a store
// over a fresh table or key prefix, reached through addr (the server's own
// address, or a proxy's); every store open returns for one test shares
// that table or prefix, as the replicas of one service do.
type backend struct {
	name string
	// target is the server's host:port.
	target string
	open   func(t *testing.T, addr string) tokenauth.Store
	// addUser stores a user record, over a direct connection.
	addUser func(t *testing.T, id string)
	// loader returns a UserLoader that reads the user records through
	// addr, with a connection of its own: ErrNotFound for a user not
	// added.
	loader func(t *testing.T, addr string) userLoader
	// probe opens a fresh connection straight to the server, sends it
	// a trivial command and closes it.
	probe func(ctx context.Context) error
}

// userLoader is tokenauth.Options.UserLoader.
type userLoader = func(ctx context.Context, userID string) (any, error)

// backends are PostgreSQL and Redis; get skips its test when the server's
// variable is unset.
var backends = []struct {
	name string
	get  func(t *testing.T) backend
}{
	{"postgres", postgresBackend},
	{"redis", redisBackend},
}

func postgresBackend(t *testing.T) backend {
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a test database's URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envPostgres)
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err, "%s is not a postgres:// URL", envPostgres)
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	// A fresh table, created and dropped over a direct connection.
	ctx := context.Background()
	admin, _, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	require.NoError(t, err, "connecting to %s", envPostgres)
	table := "tokenauth_reliability_" + randomHex(t, 6)
	users := table + "_users"
	s, err := sqlstore.New(admin, sqlstore.Postgres, sqlstore.Options{Table: table})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	_, err = admin.ExecContext(ctx, `CREATE TABLE "`+users+`" (id text PRIMARY KEY)`)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Migrate's tables beside the tokens', and the users'.
		_, err := admin.ExecContext(context.Background(), `DROP TABLE IF EXISTS "`+table+`", "`+table+`_revocations", "`+
			table+`_cutoffs", "`+table+`_imports", "`+users+`"`)
		if err == nil {
			// Migrate's trigger function, which outlives the table.
			_, err = admin.ExecContext(context.Background(), `DROP FUNCTION IF EXISTS "`+table+`_notify"()`)
		}
		admin.Close()
		if err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	})
	via := func(addr string) string {
		v := *u
		v.Host = addr
		return v.String()
	}
	return backend{
		name: "postgres", target: target,
		open: func(t *testing.T, addr string) tokenauth.Store {
			// The Listener makes the store a Watcher, as a service with a
			// cache configures it: revocations reach the caches at once.
			l, err := pglisten.New(via(addr))
			require.NoError(t, err)
			db, store, err := sqlstore.Open(ctx, via(addr), sqlstore.Options{Table: table, Listener: l})
			require.NoError(t, err)
			// Enough idle connections for the test's load, as a service
			// would configure; the default of two makes every burst
			// reconnect.
			db.SetMaxIdleConns(16)
			t.Cleanup(func() { db.Close() })
			return store
		},
		addUser: func(t *testing.T, id string) {
			_, err := admin.ExecContext(ctx, `INSERT INTO "`+users+`" (id) VALUES ($1)`, id)
			require.NoError(t, err)
		},
		probe: func(ctx context.Context) error {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return err
			}
			_, err = c.Exec(ctx, "SELECT 1")
			return errors.Join(err, c.Close(ctx))
		},
		loader: func(t *testing.T, addr string) userLoader {
			db, err := sql.Open("pgx", via(addr))
			require.NoError(t, err)
			db.SetMaxIdleConns(16)
			t.Cleanup(func() { db.Close() })
			return func(ctx context.Context, id string) (any, error) {
				var found string
				err := db.QueryRowContext(ctx, `SELECT id FROM "`+users+`" WHERE id = $1`, id).Scan(&found)
				if errors.Is(err, sql.ErrNoRows) {
					return nil, tokenauth.ErrNotFound
				}
				return found, err
			}
		},
	}
}

func redisBackend(t *testing.T) backend {
	addr := os.Getenv(envRedis)
	if addr == "" {
		t.Skipf("Redis tests skipped: set %s to a Redis server's host:port, e.g. 127.0.0.1:6379", envRedis)
	}
	prefix := "tokenauth-reliability:" + randomHex(t, 6) + ":"
	admin := redis.NewClient(&redis.Options{Addr: addr})
	require.NoError(t, admin.Ping(context.Background()).Err(), "connecting to %s", envRedis)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := admin.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = admin.Del(ctx, keys...).Err()
		}
		admin.Close()
		if err != nil {
			t.Errorf("deleting the test's keys: %v", err)
		}
	})
	// ContextTimeoutEnabled makes the client honour the request's
	// deadline (Options.StoreTimeout); without it go-redis waits for its
	// own ReadTimeout, 3 s by default.
	client := func(t *testing.T, addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		return c
	}
	// User records share the store's prefix, so that the clean-up finds
	// them.
	userKey := func(id string) string { return prefix + "user:" + id }
	return backend{
		name: "redis", target: addr,
		open: func(t *testing.T, addr string) tokenauth.Store {
			store, err := redisstore.New(client(t, addr), redisstore.Options{Prefix: prefix})
			require.NoError(t, err)
			return store
		},
		addUser: func(t *testing.T, id string) {
			require.NoError(t, admin.Set(context.Background(), userKey(id), "active", 0).Err())
		},
		probe: func(ctx context.Context) error {
			c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
			return errors.Join(c.Ping(ctx).Err(), c.Close())
		},
		loader: func(t *testing.T, addr string) userLoader {
			c := client(t, addr)
			return func(ctx context.Context, id string) (any, error) {
				v, err := c.Get(ctx, userKey(id)).Result()
				if errors.Is(err, redis.Nil) {
					return nil, tokenauth.ErrNotFound
				}
				return v, err
			}
		},
	}
}

// proxied starts a proxy in front of b's server, closed at the end of the
// test.
func proxied(t *testing.T, b backend) *faultproxy.Proxy {
	p, err := faultproxy.New(b.target)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// logBuffer collects a logger's output for concurrent reading.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// waitFor polls cond every millisecond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}
