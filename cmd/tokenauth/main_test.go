package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// Environment variables naming the live servers of the integration tests.
const (
	envTestPostgres = "TOKENAUTH_TEST_POSTGRES_DSN"
	envTestMySQL    = "TOKENAUTH_TEST_MYSQL_DSN"
)

// result is what one run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line args in process.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs args and requires exit status 0.
func ok(t *testing.T, args ...string) result {
	t.Helper()
	r := cli(t, args...)
	require.Equal(t, exitOK, r.code, "tokenauth %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

// clearEnv keeps the caller's environment out of a test.
func clearEnv(t *testing.T) {
	t.Setenv(envDSN, "")
	t.Setenv(envHMACKey, "")
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// backend is a database the CLI is tested against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	env     string // empty: SQLite in a temporary file, always available
	example string
}

var backends = []backend{
	{name: "sqlite", dialect: sqlstore.SQLite},
	{name: "postgres", dialect: sqlstore.Postgres, env: envTestPostgres, example: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
	{name: "mysql", dialect: sqlstore.MySQL, env: envTestMySQL, example: "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
}

// dsn returns the backend's DSN, or skips t when its variable is unset.
func (b backend) dsn(t *testing.T) string {
	t.Helper()
	if b.env == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "tokens.db")
	}
	dsn := os.Getenv(b.env)
	if dsn == "" {
		t.Skipf("%s tests skipped: set %s to a test database's DSN, e.g. %s", b.name, b.env, b.example)
	}
	return dsn
}

// testDB is a database and tokens table the CLI is pointed at.
type testDB struct {
	backend
	dsn, table string
	db         *sql.DB
	store      *sqlstore.Store
}

// setup picks fresh table names (so that concurrent runs against one
// server do not meet), migrates the tokens table with the CLI and opens
// the same table for the test's own checks. Tables are dropped at the end.
func setup(t *testing.T, b backend) *testDB {
	t.Helper()
	clearEnv(t)
	d := &testDB{backend: b, dsn: b.dsn(t), table: "tokenauth_cli_" + randomHex(t, 6)}
	r := ok(t, "migrate", "--dsn", d.dsn, "--table", d.table)
	assert.Equal(t, "Table "+d.table+" is ready.\n", r.stdout)

	var err error
	d.db, d.store, err = sqlstore.Open(context.Background(), d.dsn, sqlstore.Options{Table: d.table})
	require.NoError(t, err)
	t.Cleanup(func() {
		if b.env != "" {
			_, err := d.db.Exec("DROP TABLE IF EXISTS " + d.table)
			assert.NoError(t, err)
		}
		d.db.Close()
	})
	return d
}

// args appends the flags that point the CLI at d.
func (d *testDB) args(args ...string) []string {
	return append(args, "--dsn", d.dsn, "--table", d.table)
}

// verify authenticates key against d's table as a service would.
func (d *testDB) verify(t *testing.T, key string, opts tokenauth.Options) (tokenauth.Principal, error) {
	t.Helper()
	a, err := tokenauth.New(d.store, opts)
	require.NoError(t, err)
	defer a.Close() // writes the use, as a service does at shutdown
	return a.Verify(context.Background(), key)
}

// tokenFormat is the documented shape of an issued token.
var tokenFormat = regexp.MustCompile(`^tka_[0-9A-Za-z]{49}$`)

var generated = regexp.MustCompile(`^Generated token (\S+) for user (\S+)\nID: +(\S+)\n`)

// create runs tokenauth create and returns the token and its ID.
func (d *testDB) create(t *testing.T, args ...string) (key, id string) {
	t.Helper()
	r := ok(t, d.args(append([]string{"create"}, args...)...)...)
	m := generated.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, "create's output: %s", r.stdout)
	return m[1], m[3]
}

func TestCLI(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("create list revoke", func(t *testing.T) { testCreateListRevoke(t, setup(t, b)) })
			t.Run("hmac", func(t *testing.T) { testHMAC(t, setup(t, b)) })
			t.Run("purge-expired", func(t *testing.T) { testPurgeExpired(t, setup(t, b)) })
			t.Run("import-drf", func(t *testing.T) { testImportDRF(t, setup(t, b)) })
		})
	}
}

func testCreateListRevoke(t *testing.T, d *testDB) {
	ctx := context.Background()
	key, id := d.create(t, "--user", "42", "--name", "laptop", "--scope", "read", "--scope", "write", "--ttl", "1h")
	require.Regexp(t, tokenFormat, key)

	p, err := d.verify(t, key, tokenauth.Options{})
	require.NoError(t, err, "the printed token authenticates")
	assert.Equal(t, id, p.Token.ID)
	assert.Equal(t, "42", p.Token.UserID)
	assert.Equal(t, "laptop", p.Token.Name)
	assert.Equal(t, []string{"read", "write"}, p.Token.Scopes)
	assert.WithinDuration(t, time.Now().Add(time.Hour), p.Token.ExpiresAt, time.Minute)

	r := ok(t, d.args("create", "--user", "42", "--quiet")...)
	quietKey := strings.TrimSuffix(r.stdout, "\n")
	require.Regexp(t, tokenFormat, quietKey, "--quiet prints the token alone")
	_, err = d.verify(t, quietKey, tokenauth.Options{})
	require.NoError(t, err)

	r = ok(t, d.args("create", "--user", "43", "--prefix", "acme")...)
	acmeKey := generated.FindStringSubmatch(r.stdout)[1]
	assert.True(t, strings.HasPrefix(acmeKey, "acme_"), acmeKey)
	_, err = d.verify(t, acmeKey, tokenauth.Options{Prefix: "acme"})
	require.NoError(t, err)

	r = ok(t, d.args("list", "--user", "42")...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Regexp(t, `^ID +NAME +SCOPES +CREATED +EXPIRES +MAX EXPIRES +LAST USED$`, lines[0])
	// Both were used, by verify: LAST USED is set.
	assert.Regexp(t, `^`+id+` +laptop +read,write +\S+Z +\S+Z +(\S+Z|-) +\S+Z$`, lines[1])
	assert.Regexp(t, ` cli +- +\S+Z +never +- +\S+Z$`, lines[2])
	stored, err := d.store.List(ctx, "42")
	require.NoError(t, err)
	for _, tok := range stored {
		assert.NotContains(t, r.stdout, hex.EncodeToString(tok.Digest), "list never shows digests")
	}
	assert.NotContains(t, r.stdout, key, "list never shows tokens")
	assert.Equal(t, "User 7 has no tokens.\n", ok(t, d.args("list", "--user", "7")...).stdout)

	// A token with an absolute deadline, as an Authenticator with an idle
	// timeout issues it, shows both.
	capped := &tokenauth.Token{
		ID: "capped", UserID: "45", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ExpiresAt:    time.Date(2126, 1, 2, 4, 4, 5, 0, time.UTC),
		MaxExpiresAt: time.Date(2126, 2, 1, 3, 4, 5, 0, time.UTC),
		Digest:       []byte{1, 2, 3},
	}
	require.NoError(t, d.store.Create(ctx, capped))
	r = ok(t, d.args("list", "--user", "45")...)
	assert.Regexp(t, `\ncapped +- +- +2026-01-02T03:04:05Z +2126-01-02T04:04:05Z +2126-02-01T03:04:05Z +never\n$`, r.stdout)

	// Flags may follow the positional argument.
	r = ok(t, append([]string{"revoke", id}, d.args()...)...)
	assert.Equal(t, "Revoked token "+id+".\n", r.stdout)
	_, err = d.verify(t, key, tokenauth.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "a revoked token no longer authenticates")

	r = cli(t, d.args("revoke", id)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "no token has ID "+id+"; list a user's tokens")

	r = ok(t, d.args("revoke", "--user", "42")...)
	assert.Equal(t, "Revoked 1 token of user 42.\n", r.stdout)
	r = ok(t, d.args("revoke", "--user", "42")...)
	assert.Equal(t, "Revoked 0 tokens of user 42.\n", r.stdout)
	_, err = d.verify(t, acmeKey, tokenauth.Options{Prefix: "acme"})
	assert.NoError(t, err, "other users' tokens stay")
}

func testHMAC(t *testing.T, d *testDB) {
	key := randomHex(t, 32)
	raw, err := hex.DecodeString(key)
	require.NoError(t, err)
	hmac, err := tokenauth.NewHMAC(raw)
	require.NoError(t, err)

	t.Run("flag", func(t *testing.T) {
		token, _ := d.create(t, "--user", "1", "--hmac-key", key)
		_, err := d.verify(t, token, tokenauth.Options{Hasher: hmac})
		assert.NoError(t, err)
		_, err = d.verify(t, token, tokenauth.Options{})
		assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "the digest is keyed")
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(envHMACKey, key)
		token, _ := d.create(t, "--user", "1")
		_, err := d.verify(t, token, tokenauth.Options{Hasher: hmac})
		assert.NoError(t, err)
	})
}

func testPurgeExpired(t *testing.T, d *testDB) {
	ctx := context.Background()
	// Issued two hours ago for one hour: expired an hour ago.
	past, err := tokenauth.New(d.store, tokenauth.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	require.NoError(t, err)
	for range 2 {
		_, _, err := past.Issue(ctx, "5", tokenauth.IssueOptions{TTL: time.Hour})
		require.NoError(t, err)
	}
	live, _ := d.create(t, "--user", "5", "--ttl", "1h")

	r := ok(t, d.args("list", "--user", "5")...)
	assert.Equal(t, 2, strings.Count(r.stdout, "(expired)"), r.stdout)
	assert.Regexp(t, `(?m) never$`, r.stdout, "an unused token was never used")

	r = ok(t, d.args("purge-expired")...)
	assert.Regexp(t, `^Purged 2 expired tokens in \S+\.\n$`, r.stdout)
	assert.Contains(t, r.stderr, "Deleting tokens of table "+d.table+" that expired before ")
	left, err := d.store.List(ctx, "5")
	require.NoError(t, err)
	assert.Len(t, left, 1)
	_, err = d.verify(t, live, tokenauth.Options{})
	assert.NoError(t, err, "unexpired tokens stay")

	r = ok(t, d.args("purge-expired")...)
	assert.Regexp(t, `^Purged 0 expired tokens in `, r.stdout)
}

func testImportDRF(t *testing.T, d *testDB) {
	ctx := context.Background()
	drfTable := "authtoken_cli_" + randomHex(t, 6)
	from := d.dsn
	ddl := "CREATE TABLE " + drfTable + " (key VARCHAR(40) PRIMARY KEY, created TIMESTAMP NOT NULL, user_id INTEGER NOT NULL)"
	insert := "INSERT INTO " + drfTable + " (key, created, user_id) VALUES (?, ?, ?)"
	created := any(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	switch d.dialect {
	case sqlstore.SQLite:
		// DRF's own database: a file of its own, as Django writes it.
		from = "sqlite:" + filepath.Join(t.TempDir(), "django.db")
		created = "2024-05-06 07:08:09"
	case sqlstore.MySQL:
		// Django's columns: key is a reserved word, created DATETIME(6).
		ddl = strings.NewReplacer("key", "`key`", "TIMESTAMP", "DATETIME(6)").Replace(ddl)
		insert = strings.ReplaceAll(insert, "key", "`key`")
	case sqlstore.Postgres:
		ddl = strings.ReplaceAll(ddl, "TIMESTAMP", "TIMESTAMPTZ")
		insert = "INSERT INTO " + drfTable + " (key, created, user_id) VALUES ($1, $2, $3)"
	}
	driver, source, _, err := sqlstore.ParseDSN(from)
	require.NoError(t, err)
	src, err := sql.Open(driver, source)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() }) // after the drop below: cleanups run last first
	_, err = src.ExecContext(ctx, ddl)
	require.NoError(t, err)
	if d.env != "" {
		t.Cleanup(func() {
			_, err := src.Exec("DROP TABLE IF EXISTS " + drfTable)
			assert.NoError(t, err)
		})
	}
	keys := []string{randomHex(t, 20), randomHex(t, 20)}
	rows := []struct {
		key    string
		userID int
	}{{keys[0], 7}, {keys[1], 8}, {"not-a-drf-key", 9}}
	for _, row := range rows {
		_, err := src.ExecContext(ctx, insert, row.key, created, row.userID)
		require.NoError(t, err)
	}

	r := ok(t, d.args("import-drf", "--from", from, "--drf-table", drfTable, "--progress", "1", "--scope", "legacy")...)
	assert.Regexp(t, `^Imported DRF tokens in \S+: 2 imported, 0 skipped \(already imported\), 1 invalid`, r.stdout)
	assert.Contains(t, r.stderr, "  1 rows: 1 imported, 0 skipped, 0 invalid")
	assert.Contains(t, r.stderr, "  3 rows: 2 imported, 0 skipped, 1 invalid")
	assert.Contains(t, r.stderr, "AcceptLegacyKeys")
	for _, k := range keys {
		assert.NotContains(t, r.stdout+r.stderr, k, "keys are never printed")
	}

	p, err := d.verify(t, keys[0], tokenauth.Options{AcceptLegacyKeys: true})
	require.NoError(t, err, "an imported DRF key authenticates")
	assert.Equal(t, "7", p.Token.UserID)
	assert.Equal(t, "drf", p.Token.Name)
	assert.Equal(t, []string{"legacy"}, p.Token.Scopes)
	assert.True(t, p.Token.CreatedAt.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)), p.Token.CreatedAt)

	r = ok(t, d.args("import-drf", "--from", from, "--drf-table", drfTable)...)
	assert.Contains(t, r.stdout, "0 imported, 2 skipped (already imported), 1 invalid", "a second import skips")

	r = cli(t, d.args("import-drf", "--from", from, "--drf-table", drfTable+"_missing")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "tokenauth import-drf: ")
}

func TestUsage(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	empty := "sqlite:" + filepath.Join(dir, "empty.db")
	ok(t, "migrate", "--dsn", empty, "--table", "other") // the file exists, the default table does not
	hmacKey := randomHex(t, 32)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a substring of stdout
		stderr string // a substring of stderr
	}{
		{name: "no command", code: exitUsage, stderr: "Usage: tokenauth <command>"},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "import-drf"},
		{name: "-h", args: []string{"-h"}, code: exitOK, stdout: "Commands:"},
		{name: "help command", args: []string{"help", "create"}, code: exitOK, stdout: "Usage: tokenauth create --user ID"},
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{name: "unknown command", args: []string{"nope"}, code: exitUsage, stderr: "run tokenauth help for the list"},
		{name: "command -h", args: []string{"list", "-h"}, code: exitOK, stderr: "Usage: tokenauth list --user ID"},
		{name: "unknown flag", args: []string{"list", "--nope"}, code: exitUsage, stderr: "flag provided but not defined: -nope"},
		{name: "no database", args: []string{"list", "--user", "1"}, code: exitUsage,
			stderr: "no database given: pass --dsn or set TOKENAUTH_DSN (forms: postgres://"},
		{name: "bad dsn", args: []string{"list", "--user", "1", "--dsn", "oracle://x"}, code: exitUsage, stderr: "unrecognised DSN; use postgres://"},
		{name: "missing sqlite file", args: []string{"list", "--user", "1", "--dsn", "sqlite:" + filepath.Join(dir, "typo.db")}, code: exitFailure,
			stderr: "typo.db does not exist; check --dsn, or create it with tokenauth migrate"},
		{name: "table not migrated", args: []string{"list", "--user", "1", "--dsn", empty}, code: exitFailure,
			stderr: "create the table with tokenauth migrate"},
		{name: "bad table", args: []string{"list", "--user", "1", "--dsn", empty, "--table", "Bad-Name"}, code: exitUsage, stderr: "--table: "},
		{name: "create without user", args: []string{"create", "--dsn", empty}, code: exitUsage, stderr: "--user is required"},
		{name: "create negative ttl", args: []string{"create", "--user", "1", "--ttl", "-1h", "--dsn", empty}, code: exitUsage, stderr: "--ttl must not be negative"},
		{name: "create bad scope", args: []string{"create", "--user", "1", "--scope", "a b"}, code: exitUsage, stderr: "without spaces or commas"},
		{name: "create bad prefix", args: []string{"create", "--user", "1", "--prefix", "a_b", "--dsn", empty, "--table", "other"}, code: exitUsage, stderr: "--prefix: "},
		{name: "create extra argument", args: []string{"create", "alice"}, code: exitUsage, stderr: "the user is given with --user ID"},
		{name: "hmac key not hex", args: []string{"create", "--user", "1", "--hmac-key", "zz-secret-zz"}, code: exitUsage, stderr: "must be hex-encoded; generate one with: openssl rand -hex 32"},
		{name: "hmac key short", args: []string{"create", "--user", "1", "--hmac-key", hmacKey[:20]}, code: exitUsage, stderr: "is 10 bytes, need at least 32"},
		{name: "list without user", args: []string{"list"}, code: exitUsage, stderr: "--user is required"},
		{name: "revoke nothing", args: []string{"revoke"}, code: exitUsage, stderr: "give the ID of the token to revoke"},
		{name: "revoke both", args: []string{"revoke", "abc", "--user", "1"}, code: exitUsage, stderr: "not both"},
		{name: "revoke two", args: []string{"revoke", "abc", "def"}, code: exitUsage, stderr: "give one token ID"},
		{name: "purge argument", args: []string{"purge-expired", "now"}, code: exitUsage, stderr: `unexpected argument "now"`},
		{name: "import missing source", args: []string{"import-drf", "--from", "sqlite:" + filepath.Join(dir, "django.db"), "--dsn", empty}, code: exitFailure,
			stderr: "django.db does not exist; check the path"},
		{name: "import bad source dsn", args: []string{"import-drf", "--from", "django", "--dsn", empty}, code: exitUsage, stderr: "--from: sqlstore: unrecognised DSN"},
		{name: "import without from", args: []string{"import-drf", "--dsn", empty}, code: exitUsage, stderr: "--from is required"},
		{name: "import bad source table", args: []string{"import-drf", "--from", empty, "--dsn", empty, "--table", "other", "--drf-table", "x;drop"}, code: exitUsage,
			stderr: "must be an SQL identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, tt.stdout)
			assert.Contains(t, r.stderr, tt.stderr)
			if tt.code == exitUsage {
				assert.Regexp(t, `Usage: tokenauth|tokenauth help`, r.stderr, "usage errors show the usage or point at help")
			}
			assert.NotContains(t, r.stdout+r.stderr, "zz-secret-zz", "keys are never echoed")
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args       []string
		positional []string
		user       string
	}{
		{args: []string{"a", "--user", "u"}, positional: []string{"a"}, user: "u"},
		{args: []string{"--user", "u", "a", "b"}, positional: []string{"a", "b"}, user: "u"},
		{args: []string{"a", "--", "--user", "u"}, positional: []string{"a", "--user", "u"}},
		{args: []string{"--", "-x"}, positional: []string{"-x"}},
		{args: nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			user := fs.String("user", "", "")
			got, err := parseInterspersed(fs, tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.positional, got)
			assert.Equal(t, tt.user, *user)
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := map[string]string{
		"laptop":          "laptop",
		"my laptop":       "my laptop",
		"café":            "café",
		"evil\x1b[31mred": `"evil\x1b[31mred"`,
		"tab\there":       `"tab\there"`,
		"":                "",
	}
	for in, want := range tests {
		assert.Equal(t, want, printable(in), "%q", in)
	}
}
