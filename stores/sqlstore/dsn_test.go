package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate&_pragma=mmap_size(268435456)"

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, driver, source string
		dialect             sqlstore.Dialect
	}{
		// PostgreSQL URLs pass through unchanged.
		{"postgres://app:s3cret@db:5432/app?sslmode=require", "pgx", "postgres://app:s3cret@db:5432/app?sslmode=require", sqlstore.Postgres},
		{"postgresql://db/app", "pgx", "postgresql://db/app", sqlstore.Postgres},
		{"POSTGRES://db/app", "pgx", "POSTGRES://db/app", sqlstore.Postgres},

		// MySQL URLs become go-sql-driver's form.
		{"mysql://root@127.0.0.1/test", "mysql", "root@tcp(127.0.0.1:3306)/test?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"mysql://app:s3cret@db.example:3307/app?tls=true&charset=utf8mb4,utf8", "mysql",
			"app:s3cret@tcp(db.example:3307)/app?tls=true&charset=utf8mb4,utf8&parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"mysql://app:p%40ss%2Fw%3Ard@db/app", "mysql", "app:p@ss/w:rd@tcp(db:3306)/app?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"mariadb://app@[::1]:3307/app", "mysql", "app@tcp([::1]:3307)/app?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"mysql:///app", "mysql", "tcp(127.0.0.1:3306)/app?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"mysql://app@db/app?parseTime=false&interpolateParams=false", "mysql", "app@tcp(db:3306)/app?parseTime=false&interpolateParams=false", sqlstore.MySQL},

		// go-sql-driver's own form is accepted, with the same defaults.
		{"root@tcp(127.0.0.1:3306)/test?parseTime=true", "mysql", "root@tcp(127.0.0.1:3306)/test?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"tcp(db)/app", "mysql", "tcp(db)/app?parseTime=true&interpolateParams=true", sqlstore.MySQL},
		{"app:pw@unix(/run/mysqld/mysqld.sock)/app", "mysql", "app:pw@unix(/run/mysqld/mysqld.sock)/app?parseTime=true&interpolateParams=true", sqlstore.MySQL},

		// SQLite paths become modernc.org/sqlite file: URIs with pragmas.
		{"sqlite:/var/lib/app/tokens.db", "sqlite", "file:/var/lib/app/tokens.db?" + sqliteParams, sqlstore.SQLite},
		{"sqlite:///var/lib/app/tokens.db", "sqlite", "file:/var/lib/app/tokens.db?" + sqliteParams, sqlstore.SQLite},
		{"sqlite://tokens.db", "sqlite", "file:tokens.db?" + sqliteParams, sqlstore.SQLite},
		{"sqlite:file:tokens", "sqlite", "file:tokens?" + sqliteParams, sqlstore.SQLite},
		{"SQLite:tokens", "sqlite", "file:tokens?" + sqliteParams, sqlstore.SQLite},
		{"data/app.db", "sqlite", "file:data/app.db?" + sqliteParams, sqlstore.SQLite},
		{"/srv/App.SQLite3", "sqlite", "file:/srv/App.SQLite3?" + sqliteParams, sqlstore.SQLite},
		{"sqlite::memory:", "sqlite", "file::memory:?" + sqliteParams, sqlstore.SQLite},
		{"sqlite:/tmp/a#b%c.db", "sqlite", "file:/tmp/a%23b%25c.db?" + sqliteParams, sqlstore.SQLite},
		{"sqlite:/tmp/x.db?_pragma=busy_timeout(100)&_txlock=deferred&_fk=0", "sqlite",
			"file:/tmp/x.db?_pragma=busy_timeout(100)&_txlock=deferred&_fk=0&_pragma=journal_mode(WAL)&_pragma=mmap_size(268435456)", sqlstore.SQLite},
		{"app.db?_pragma=JOURNAL_MODE%28DELETE%29", "sqlite",
			"file:app.db?_pragma=JOURNAL_MODE%28DELETE%29&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate&_pragma=mmap_size(268435456)", sqlstore.SQLite},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			driver, source, d, err := sqlstore.ParseDSN(tc.dsn)
			require.NoError(t, err)
			assert.Equal(t, tc.driver, driver)
			assert.Equal(t, tc.source, source)
			assert.Equal(t, tc.dialect, d)
		})
	}
}

func TestParseDSNErrors(t *testing.T) {
	for _, dsn := range []string{
		"",
		"redis://127.0.0.1:6379",
		"tokens.txt",
		"https://example.com/tokens.db",
		"host=db user=app password=s3cret dbname=app",
		"mysql://app:s3cret@db",
		"mysql://app:s3cret@db/",
		"mysql://app:s3cret@db/a/b",
		"mysql://app:s3cret@db:port/app",
		"mysql://app:s3cret%zz@db/app",
		"mysql:app:s3cret@db/app",
		"mysql://app:s3cret@db/app#frag",
		"mysql://us%3Aer:s3cret@db/app",
		"app:s3cret@tcp(db:3306)",
		"sqlite:",
		"sqlite://",
		"sqlite:?_txlock=immediate",
	} {
		t.Run(dsn, func(t *testing.T) {
			_, _, _, err := sqlstore.ParseDSN(dsn)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), err.Error())
			assert.NotContains(t, err.Error(), "s3cret", "a DSN's password never reaches an error")
		})
	}
	_, _, _, err := sqlstore.ParseDSN("oracle://db")
	for _, form := range []string{"postgres://", "mysql://", "tcp(", "sqlite:", ".db"} {
		assert.Contains(t, err.Error(), form, "the error names the accepted forms")
	}
}
