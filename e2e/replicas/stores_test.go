package replicas

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Environment variables naming the live servers.
const (
	envPostgres     = "TOKENAUTH_TEST_POSTGRES_DSN"
	envMySQL        = "TOKENAUTH_TEST_MYSQL_DSN"
	envRedis        = "TOKENAUTH_TEST_REDIS_ADDR"
	envRedisCluster = "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS"
	envPgBouncer    = "TOKENAUTH_TEST_PGBOUNCER_DSN"
)

// store is a shared store both replicas run over.
type store struct {
	// args choose it on the replica's command line.
	args []string
	// cliRevoke is the command line that deletes a token, given its ID,
	// from a third process.
	cliRevoke func(id string) []string
	// watchMode is what sqlstore.Store.WatchMode must say on both
	// replicas once they serve: "listen", "poll", or "" (Redis).
	watchMode string
	// startLog, when set, is what both replicas must have logged by
	// then.
	startLog string
	// bound is what the p99 lag must stay under.
	bound time.Duration
	// workers revoke tokens at once: one where the lag is milliseconds,
	// so that the figures are not those of a loaded machine; more where
	// it is the poll interval, to keep the run short.
	workers int
	// jitter, when set, delays each revocation by a random time up to
	// it: the poll interval, so that revocations fall at random points
	// of B's polling cycle. Without it each worker revokes right after B's
	// last poll found the previous token, every lag close to the
	// interval.
	jitter time.Duration
}

// stores are the shared stores the suite runs over; each is skipped, with
// a message, when its server's variable is unset.
var stores = []struct {
	name string
	get  func(t *testing.T, bins binaries) store
}{
	{"postgres", postgresStore},
	{"redis", redisStore},
	{"mysql", mysqlStore},
	{"sqlite", sqliteStore},
	{"redis-cluster", redisClusterStore},
	{"pgbouncer", pgbouncerStore},
}

func postgresStore(t *testing.T, bins binaries) store {
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL skipped: set %s to a test database's URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envPostgres)
	}
	return postgresTable(t, bins, dsn, false)
}

// pgbouncerStore is PostgreSQL behind PgBouncer in transaction mode, as
// many deployments pool their connections: LISTEN delivers nothing
// there, so pglisten refuses it when the replicas start and sqlstore
// polls the revocation log instead.
func pgbouncerStore(t *testing.T, bins binaries) store {
	dsn := os.Getenv(envPgBouncer)
	if dsn == "" {
		t.Skipf("PgBouncer skipped: set %s to a PgBouncer in transaction mode in front of the test database; "+
			`eval "$(.ci/pgbouncer.sh start)" starts one and sets it`, envPgBouncer)
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err, "%s is not a postgres:// URL", envPgBouncer)
	// PgBouncer before 1.21 cannot pool pgx's prepared statements.
	q := u.Query()
	if q.Get("default_query_exec_mode") == "" {
		q.Set("default_query_exec_mode", "simple_protocol")
		u.RawQuery = q.Encode()
	}
	st := postgresTable(t, bins, u.String(), true)
	// pglisten refused the pooled connection, and sqlstore said so.
	st.startLog = "LISTEN does not deliver notifications here; polling the revocation log instead"
	return st
}

// postgresTable is a fresh table in the PostgreSQL database at dsn; polled
// says whether the replicas poll it (behind PgBouncer) or listen.
func postgresTable(t *testing.T, bins binaries, dsn string, polled bool) store {
	table := "tokenauth_replicas_" + randomHex(t, 6)
	// Migrate (run by the replicas) makes the table and the trigger's
	// function; dropping the table drops the triggers.
	dropAfter(t, "pgx", dsn, `DROP TABLE IF EXISTS "`+table+`", "`+table+`_revocations", "`+table+`_cutoffs", "`+table+`_imports"`,
		`DROP FUNCTION IF EXISTS "`+table+`_notify"()`)
	return sqlStore(bins, "postgres", dsn, table, polled)
}

func mysqlStore(t *testing.T, bins binaries) store {
	dsn := os.Getenv(envMySQL)
	if dsn == "" {
		t.Skipf("MySQL skipped: set %s to a test database's DSN, e.g. root@tcp(127.0.0.1:3306)/test?parseTime=true", envMySQL)
	}
	table := "tokenauth_replicas_" + randomHex(t, 6)
	var stmts []string
	for _, tb := range []string{table, table + "_revocations", table + "_cutoffs", table + "_imports"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS `"+tb+"`")
	}
	dropAfter(t, "mysql", dsn, stmts...)
	return sqlStore(bins, "mysql", dsn, table, true)
}

func sqliteStore(t *testing.T, bins binaries) store {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "tokens.db")
	return sqlStore(bins, "sqlite", dsn, sqlstore.DefaultTable, true)
}

// sqlStore is a SQL store, listened to or polled; the tokenauth CLI
// revokes from the third process.
func sqlStore(bins binaries, kind, dsn, table string, polled bool) store {
	st := store{
		args: []string{"-store", kind, "-dsn", dsn, "-table", table},
		cliRevoke: func(id string) []string {
			return []string{bins.cli, "revoke", "--dsn", dsn, "--table", table, id}
		},
		watchMode: sqlstore.WatchListen,
		bound:     notified,
		workers:   1,
	}
	if polled {
		st.args = append(st.args, "-poll", pollInterval.String())
		st.watchMode, st.bound, st.workers, st.jitter = sqlstore.WatchPoll, pollInterval+notified, 4, pollInterval
	}
	return st
}

// dropAfter runs stmts at the end of the test, after the replicas have
// stopped.
func dropAfter(t *testing.T, driver, dsn string, stmts ...string) {
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	require.NoError(t, db.Ping(), "connecting to the %s database", driver)
	t.Cleanup(func() {
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
}

func redisStore(t *testing.T, bins binaries) store {
	addr := os.Getenv(envRedis)
	if addr == "" {
		t.Skipf("Redis skipped: set %s to a Redis server's host:port, e.g. 127.0.0.1:6379", envRedis)
	}
	return redisPrefix(t, bins, []string{addr})
}

// redisClusterStore is a Redis Cluster, over which tokens spread across
// every node and revocations travel by pub/sub through the cluster bus.
func redisClusterStore(t *testing.T, bins binaries) store {
	addrs := os.Getenv(envRedisCluster)
	if addrs == "" {
		t.Skipf("Redis Cluster skipped: set %s to its nodes' host:port, comma-separated; "+
			".ci/redis-cluster.sh start starts a three-master cluster on loopback and prints it", envRedisCluster)
	}
	return redisPrefix(t, bins, strings.Split(addrs, ","))
}

// redisPrefix is a fresh key prefix on the Redis server, or cluster, at
// addrs.
func redisPrefix(t *testing.T, bins binaries, addrs []string) store {
	prefix := "tokenauth-replicas:" + randomHex(t, 6) + ":"
	admin := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, IsClusterMode: len(addrs) > 1})
	require.NoError(t, admin.Ping(context.Background()).Err(), "connecting to %s", strings.Join(addrs, ","))
	t.Cleanup(func() {
		err := deleteKeys(admin, prefix)
		admin.Close()
		if err != nil {
			t.Errorf("deleting the test's keys: %v", err)
		}
	})
	args := []string{"-store", "redis", "-dsn", strings.Join(addrs, ","), "-prefix", prefix}
	return store{
		args: args,
		// The tokenauth CLI administers SQL stores only: an admin
		// process of the replica's own deletes through redisstore, whose
		// script publishes the revocation as any client's would.
		cliRevoke: func(id string) []string {
			return append(append([]string{bins.replica, "revoke"}, args...), id)
		},
		bound:   notified,
		workers: 1,
	}
}

// deleteKeys deletes every key under prefix, on every master of a
// cluster. Keys are deleted one by one: on a cluster, the keys a node
// holds may lie in different slots.
func deleteKeys(c redis.UniversalClient, prefix string) error {
	ctx := context.Background()
	node := func(ctx context.Context, n *redis.Client) error {
		it := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			if err := n.Unlink(ctx, it.Val()).Err(); err != nil {
				return err
			}
		}
		return it.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, node)
	}
	return node(ctx, c.(*redis.Client))
}
