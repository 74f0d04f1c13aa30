package integration_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// The MySQL form ParseDSN builds is what go-sql-driver reads back.
func TestParseDSNMySQLRoundTrip(t *testing.T) {
	_, source, _, err := sqlstore.ParseDSN("mysql://a%40b:p%40ss%3Aw%2Fo%3Frd%29@db.example:3307/my%3Fdb")
	require.NoError(t, err)
	cfg, err := mysql.ParseDSN(source)
	require.NoError(t, err)
	assert.Equal(t, "a@b", cfg.User)
	assert.Equal(t, "p@ss:w/o?rd)", cfg.Passwd)
	assert.Equal(t, "db.example:3307", cfg.Addr)
	assert.Equal(t, "my?db", cfg.DBName)
	assert.True(t, cfg.ParseTime)
	assert.True(t, cfg.InterpolateParams)
}

func FuzzParseDSN(f *testing.F) {
	for _, seed := range []string{
		"postgres://u:p@h/db", "mysql://u:p@h:3306/db?tls=true", "mysql://u:p%40@[::1]/db",
		"root@tcp(h:3306)/db?parseTime=true", "sqlite:/tmp/x.db?_txlock=deferred", "x.db", "sqlite::memory:",
		"mysql://:@/", "sqlite:#%?", "tcp(", "mysql://u:p@h/%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		driver, source, d, err := sqlstore.ParseDSN(dsn)
		if err != nil {
			if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
					if strings.Contains(err.Error(), pw) {
						t.Fatalf("error %q quotes the DSN's password", err)
					}
				}
			}
			return
		}
		switch d {
		case sqlstore.Postgres:
			if driver != "pgx" || source != dsn {
				t.Fatalf("postgres DSN changed: %q, %q", driver, source)
			}
		case sqlstore.MySQL:
			if driver != "mysql" || !strings.Contains(source, "parseTime") || !strings.Contains(source, "interpolateParams") {
				t.Fatalf("mysql: %q, %q", driver, source)
			}
			// A URL without parameters converts to a DSN the driver reads
			// back to the same credentials and database.
			u, perr := url.Parse(dsn)
			if !strings.Contains(strings.ToLower(dsn), "://") || perr != nil || u.RawQuery != "" || u.ForceQuery {
				return
			}
			cfg, err := mysql.ParseDSN(source)
			if err != nil {
				t.Fatalf("go-sql-driver rejects %q: %v", source, err)
			}
			pw, _ := u.User.Password()
			if cfg.User != u.User.Username() || cfg.Passwd != pw || "/"+cfg.DBName != u.Path {
				t.Fatalf("go-sql-driver reads %q as user %q, password %q, db %q", source, cfg.User, cfg.Passwd, cfg.DBName)
			}
		case sqlstore.SQLite:
			path, _, _ := strings.Cut(strings.TrimPrefix(source, "file:"), "?")
			if driver != "sqlite" || !strings.HasPrefix(source, "file:") || path == "" || strings.Contains(path, "#") {
				t.Fatalf("sqlite: %q, %q", driver, source)
			}
		default:
			t.Fatalf("ParseDSN(%q) returned no error and dialect %v", dsn, d)
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite file", func(t *testing.T) {
		db, s, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{Table: "api_tokens"})
		require.NoError(t, err)
		defer db.Close()
		assert.Equal(t, "api_tokens", s.Table())
		assert.Equal(t, sqlstore.SQLite, s.Dialect())
		require.NoError(t, s.Migrate(ctx))
		var mode string
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
	})
	t.Run("sqlite path with URI characters", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a#b%20c.db")
		db, s, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{})
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, s.Migrate(ctx))
		_, err = os.Stat(path)
		assert.NoError(t, err, "the database is the file named, not a decoded or truncated name")
	})
	t.Run("sqlite in memory keeps one connection", func(t *testing.T) {
		db, s, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.Options{})
		require.NoError(t, err)
		defer db.Close()
		assert.Equal(t, 1, db.Stats().MaxOpenConnections)
		require.NoError(t, s.Migrate(ctx))
		n, err := s.DeleteUser(ctx, "nobody", time.Now())
		require.NoError(t, err, "the table Migrate created is there")
		assert.Zero(t, n)
	})
	for _, tc := range []struct {
		name, dsn string
		opts      sqlstore.Options
		is        error
	}{
		{"bad DSN", "oracle://app:s3cret@db", sqlstore.Options{}, nil},
		{"bad table", "sqlite::memory:", sqlstore.Options{Table: "Bad"}, tokenauth.ErrInvalidOptions},
		{"postgres refused", "postgres://app:s3cret@127.0.0.1:1/app?connect_timeout=5", sqlstore.Options{}, nil},
		{"mysql refused", "mysql://app:s3cret@127.0.0.1:1/app?timeout=5s", sqlstore.Options{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, s, err := sqlstore.Open(ctx, tc.dsn, tc.opts)
			require.Error(t, err)
			assert.Nil(t, db)
			assert.Nil(t, s)
			assert.NotContains(t, err.Error(), "s3cret")
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}
