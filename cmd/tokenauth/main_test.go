package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
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
	"github.com/go-tokenauth/tokenauth/stores/memstore"
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

// cli runs the command line args in process, with nothing on stdin.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	return cliStdin(t, "", args...)
}

// cliStdin runs the command line args in process, with stdin on stdin.
func cliStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
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
	assert.Equal(t, "Table "+d.table+" is ready.\n", r.stdout, "an empty table: nothing to report")

	var err error
	d.db, d.store, err = sqlstore.Open(context.Background(), d.dsn, sqlstore.Options{Table: d.table})
	require.NoError(t, err)
	t.Cleanup(func() {
		if b.env != "" {
			dropTables(t, d.db, b.dialect, d.table)
		}
		d.db.Close()
	})
	return d
}

// dropTables drops the tokens table and the tables and function named
// after it.
func dropTables(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string) {
	t.Helper()
	for _, suffix := range []string{"", "_revocations", "_cutoffs", "_imports"} {
		_, err := db.Exec("DROP TABLE IF EXISTS " + table + suffix)
		assert.NoError(t, err)
	}
	if d == sqlstore.Postgres {
		_, err := db.Exec("DROP FUNCTION IF EXISTS " + table + "_notify()")
		assert.NoError(t, err)
	}
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
			t.Run("create with constraints", func(t *testing.T) { testCreateConstraints(t, setup(t, b)) })
			t.Run("revoke --key", func(t *testing.T) { testRevokeKey(t, setup(t, b)) })
			t.Run("hmac", func(t *testing.T) { testHMAC(t, setup(t, b)) })
			t.Run("purge-expired", func(t *testing.T) { testPurgeExpired(t, setup(t, b)) })
			t.Run("import-drf", func(t *testing.T) { testImportDRF(t, setup(t, b)) })
			t.Run("migrate forward", func(t *testing.T) { testMigrateForward(t, b) })
		})
	}
}

// b4bfc5bSchema is the schema of the last commit before v0.1.0, as the
// sqlstore integration tests keep it.
func b4bfc5bSchema(t *testing.T, d sqlstore.Dialect) []string {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("..", "..", "stores", "sqlstore", "integration", "testdata", "schema_b4bfc5b_"+d.String()+".sql"))
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(strings.TrimSpace(string(ddl)), ";"), ";\n\n")
}

// A database of the schema before v0.1.0, with tokens in it, migrates
// forward with tokenauth migrate, which says what it did, and the tokens
// still authenticate.
func testMigrateForward(t *testing.T, b backend) {
	clearEnv(t)
	ctx := context.Background()
	dsn, table := b.dsn(t), "tokenauth_cli_"+randomHex(t, 6)
	db, _, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Table: table})
	require.NoError(t, err)
	t.Cleanup(func() {
		if b.env != "" {
			dropTables(t, db, b.dialect, table)
		}
		db.Close()
	})
	for _, stmt := range b4bfc5bSchema(t, b.dialect) {
		_, err := db.ExecContext(ctx, strings.ReplaceAll(stmt, "tokenauth_tokens", table))
		require.NoError(t, err)
	}
	// Rows as the earlier release wrote them: one from before the
	// absolute deadline, one that never expires, one capped.
	issuer, err := tokenauth.New(memstore.New(), tokenauth.Options{})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Microsecond)
	type row struct {
		id                  string
		expires, maxExpires any
	}
	keys := map[string]string{}
	ts := func(v time.Time) any {
		if b.dialect == sqlstore.SQLite {
			return v.UnixMicro()
		}
		return v
	}
	insert := "INSERT INTO " + table + " (id, user_id, name, scopes, digest, created_at, expires_at, max_expires_at) VALUES (?, '42', 'old', '[]', ?, ?, ?, ?)"
	if b.dialect == sqlstore.Postgres {
		insert = strings.Replace(insert, "?, '42', 'old', '[]', ?, ?, ?, ?", "$1, '42', 'old', '[]', $2, $3, $4, $5", 1)
	}
	for _, r := range []row{
		{"sliding", ts(now.Add(time.Hour)), nil},
		{"forever", nil, nil},
		{"capped", ts(now.Add(time.Hour)), ts(now.Add(2 * time.Hour))},
	} {
		key, _, err := issuer.Issue(ctx, "elsewhere", tokenauth.IssueOptions{})
		require.NoError(t, err)
		keys[r.id] = key
		_, err = db.ExecContext(ctx, insert, r.id, tokenauth.SHA256.Digest(key), ts(now), r.expires, r.maxExpires)
		require.NoError(t, err)
	}

	r := ok(t, "migrate", "--dsn", dsn, "--table", table)
	assert.Equal(t, "Table "+table+" is ready.\n"+
		"Added columns: personal, not_before, allowed_ips, denied_ips, rate_limit, rate_window_ns, created_from, user_agent.\n"+
		"Backfilled the absolute deadline of 1 token from before it existed: each now expires at its current expiry, no later.\n"+
		"1 token never expires: only revoking ends it (tokenauth list, tokenauth revoke).\n", r.stdout)
	r = ok(t, "migrate", "--dsn", dsn, "--table", table)
	assert.Equal(t, "Table "+table+" is ready.\n"+
		"1 token never expires: only revoking ends it (tokenauth list, tokenauth revoke).\n", r.stdout, "the backfill runs once")

	d := &testDB{backend: b, dsn: dsn, table: table, db: db}
	d.store, err = sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
	require.NoError(t, err)
	for id, key := range keys {
		p, err := d.verify(t, key, tokenauth.Options{})
		require.NoError(t, err, "%s still authenticates", id)
		assert.Equal(t, id, p.Token.ID)
		if id == "sliding" {
			assert.True(t, p.Token.MaxExpiresAt.Equal(now.Add(time.Hour)), "its expiry is its deadline: %v", p.Token.MaxExpiresAt)
		}
	}
	r = ok(t, d.args("list", "--user", "42")...)
	assert.Regexp(t, `(?m)^sliding +session +old +- +\S+Z +(\S+Z) +(\S+Z) `, r.stdout)
}

// testCreateConstraints: the flags make a personal access token with
// every constraint, printed as issued.
func testCreateConstraints(t *testing.T, d *testDB) {
	r := ok(t, d.args("create", "--user", "42", "--personal", "--name", "ci", "--ttl", "720h",
		"--allow-ip", "192.0.2.7/24", "--allow-ip", "2001:db8::1", "--deny-ip", "192.0.2.99",
		"--not-before", "2026-01-02T15:04:05+01:00", "--rate-limit", "100", "--rate-window", "1m")...)
	m := generated.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	assert.Regexp(t, tokenFormat, m[1])
	assert.Contains(t, r.stdout, "\nKind:    personal\nName:    ci\n")
	assert.Contains(t, r.stdout, "\nLimits:  from 2026-01-02T14:04:05Z; allow 192.0.2.0/24,2001:db8::1/128; deny 192.0.2.99/32; 100 per 1m0s\n")

	r = ok(t, d.args("create", "--user", "42")...)
	assert.Contains(t, r.stdout, "\nKind:    session\n")
	assert.NotContains(t, r.stdout, "Limits:")
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
	assert.Regexp(t, `^ID +KIND +NAME +SCOPES +CREATED +EXPIRES +MAX EXPIRES +LAST USED +LIMITS$`, lines[0])
	// Both were used, by verify: LAST USED is set.
	assert.Regexp(t, `^`+id+` +session +laptop +read,write +\S+Z +\S+Z +(\S+Z|-) +\S+Z +-$`, lines[1])
	assert.Regexp(t, ` session +cli +- +\S+Z +never +- +\S+Z +-$`, lines[2])
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
	assert.Regexp(t, `\ncapped +session +- +- +2026-01-02T03:04:05Z +2126-01-02T04:04:05Z +2126-02-01T03:04:05Z +never +-\n$`, r.stdout)

	// Flags may follow the positional argument.
	r = ok(t, append([]string{"revoke", id}, d.args()...)...)
	assert.Equal(t, "Revoked token "+id+".\n", r.stdout)
	_, err = d.verify(t, key, tokenauth.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "a revoked token no longer authenticates")

	r = cli(t, d.args("revoke", id)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "no token has ID "+id+"; list a user's tokens")

	r = ok(t, d.args("revoke", "--user", "42")...)
	assert.Equal(t, "Revoked 1 token of user 42; logins begun before now are refused too.\n", r.stdout)
	r = ok(t, d.args("revoke", "--user", "42")...)
	assert.Equal(t, "Revoked 0 tokens of user 42; logins begun before now are refused too.\n", r.stdout)
	_, err = d.verify(t, acmeKey, tokenauth.Options{Prefix: "acme"})
	assert.NoError(t, err, "other users' tokens stay")
	err = d.store.Create(ctx, &tokenauth.Token{ID: "late-login", UserID: "42", CreatedAt: time.Now().Add(-time.Minute), Digest: []byte{4}})
	assert.ErrorIs(t, err, tokenauth.ErrRevoked, "a login begun before revoke --user is refused")
}

// revoke --key - revokes a leaked token by its plaintext, read from stdin
// only, and says so when it is gone already.
func testRevokeKey(t *testing.T, d *testDB) {
	key, id := d.create(t, "--user", "77", "--name", "leaked")
	other, _ := d.create(t, "--user", "77")

	r := cliStdin(t, key+"\n", d.args("revoke", "--key", "-")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Revoked token "+id+" of user 77.\n", r.stdout)
	assert.NotContains(t, r.stdout+r.stderr, key, "the token is never echoed")
	_, err := d.verify(t, key, tokenauth.Options{})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken)
	_, err = d.verify(t, other, tokenauth.Options{})
	assert.NoError(t, err, "the user's other tokens stay")

	r = cliStdin(t, key, d.args("revoke", "--key", "-")...)
	require.Equal(t, exitOK, r.code, "revoking it again succeeds: %s", r.stderr)
	assert.Contains(t, r.stdout, "No stored token has this key: it is revoked already")
	assert.NotContains(t, r.stdout+r.stderr, key)

	for _, tc := range []struct {
		name, stdin string
		args        []string
		stderr      string
	}{
		{"the key on the command line", "", []string{"--key", key}, "--key takes only -, and reads the token from stdin"},
		{"the key as the ID", "", []string{key}, "if it is a token, give it on stdin with --key -"},
		{"nothing on stdin", "  \n", []string{"--key", "-"}, "stdin holds no token"},
		{"two words on stdin", key + " " + other, []string{"--key", "-"}, "stdin holds more than one word"},
		{"too much on stdin", strings.Repeat("x", 2000), []string{"--key", "-"}, "stdin holds more than 1024 bytes"},
		{"with an ID", key, []string{"--key", "-", id}, "only one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cliStdin(t, tc.stdin, d.args(append([]string{"revoke"}, tc.args...)...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.stderr)
			assert.NotContains(t, r.stdout+r.stderr, key, "the token is never echoed")
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
		})
	}
}

// The service's HMAC key comes from the environment, in hex or base64,
// for every command that digests: create, revoke --key and import-drf.
func testHMAC(t *testing.T, d *testDB) {
	raw, err := hex.DecodeString(randomHex(t, 32))
	require.NoError(t, err)
	hmac, err := tokenauth.NewHMAC(raw)
	require.NoError(t, err)
	for _, enc := range []struct{ name, key string }{
		{"hex", hex.EncodeToString(raw)},
		{"base64", base64.StdEncoding.EncodeToString(raw)},
		{"base64url unpadded", base64.RawURLEncoding.EncodeToString(raw)},
	} {
		t.Run(enc.name, func(t *testing.T) {
			t.Setenv(envHMACKey, enc.key)
			token, id := d.create(t, "--user", "1")
			_, err := d.verify(t, token, tokenauth.Options{Hasher: hmac})
			assert.NoError(t, err, "issued with the service's Hasher")
			_, err = d.verify(t, token, tokenauth.Options{})
			assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "the digest is keyed")

			r := cliStdin(t, token, d.args("revoke", "--key", "-")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, "Revoked token "+id+" of user 1.\n", r.stdout, "revoke --key digests with the key")
		})
	}
	t.Run("revoke --key without the key finds nothing", func(t *testing.T) {
		t.Setenv(envHMACKey, hex.EncodeToString(raw))
		token, _ := d.create(t, "--user", "1")
		t.Setenv(envHMACKey, "")
		r := cliStdin(t, token, d.args("revoke", "--key", "-")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "and TOKENAUTH_HMAC_KEY if the service uses HMAC")
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
	assert.Regexp(t, `(?m) never +-$`, r.stdout, "an unused token was never used")

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
	suffix := randomHex(t, 6)
	drfTable, usersTable := "authtoken_cli_"+suffix, "auth_user_cli_"+suffix
	from := d.dsn
	ddl := []string{
		"CREATE TABLE " + usersTable + " (id INTEGER PRIMARY KEY, is_active BOOLEAN NOT NULL)",
		"CREATE TABLE " + drfTable + " (key VARCHAR(40) PRIMARY KEY, created TIMESTAMP NOT NULL, user_id INTEGER NOT NULL)",
	}
	insertUser := "INSERT INTO " + usersTable + " (id, is_active) VALUES (?, ?)"
	insert := "INSERT INTO " + drfTable + " (key, created, user_id) VALUES (?, ?, ?)"
	created := any(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	switch d.dialect {
	case sqlstore.SQLite:
		// DRF's own database: a file of its own, as Django writes it.
		from = "sqlite:" + filepath.Join(t.TempDir(), "django.db")
		created = "2024-05-06 07:08:09"
	case sqlstore.MySQL:
		// Django's columns: key is a reserved word, created DATETIME(6).
		ddl[1] = strings.NewReplacer("key", "`key`", "TIMESTAMP", "DATETIME(6)").Replace(ddl[1])
		insert = strings.ReplaceAll(insert, "key", "`key`")
	case sqlstore.Postgres:
		ddl[1] = strings.ReplaceAll(ddl[1], "TIMESTAMP", "TIMESTAMPTZ")
		insertUser = strings.Replace(insertUser, "?, ?", "$1, $2", 1)
		insert = strings.Replace(insert, "?, ?, ?", "$1, $2, $3", 1)
	}
	driver, source, _, err := sqlstore.ParseDSN(from)
	require.NoError(t, err)
	src, err := sql.Open(driver, source)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() }) // after the drops below: cleanups run last first
	for _, stmt := range ddl {
		_, err = src.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	if d.env != "" {
		t.Cleanup(func() {
			for _, table := range []string{drfTable, usersTable} {
				_, err := src.Exec("DROP TABLE IF EXISTS " + table)
				assert.NoError(t, err)
			}
		})
	}
	keys := []string{randomHex(t, 20), randomHex(t, 20), randomHex(t, 20)}
	rows := []struct {
		key    string
		userID int
		active bool
	}{{keys[0], 7, true}, {keys[1], 8, true}, {"not-a-drf-key", 9, true}, {keys[2], 10, false}}
	for _, row := range rows {
		_, err := src.ExecContext(ctx, insertUser, row.userID, row.active)
		require.NoError(t, err)
		_, err = src.ExecContext(ctx, insert, row.key, created, row.userID)
		require.NoError(t, err)
	}
	importDRF := func(args ...string) []string {
		return d.args(append([]string{"import-drf", "--from", from, "--drf-table", drfTable, "--users-table", usersTable}, args...)...)
	}

	r := ok(t, importDRF("--progress", "1", "--scope", "legacy")...)
	assert.Regexp(t, `^Imported DRF tokens in \S+: 2 imported, 1 skipped: 0 already imported \(revoked ones stay revoked\), `+
		`1 of inactive users \(--include-inactive imports them\), 0 revoked here after the key was made; 1 invalid`, r.stdout)
	assert.Regexp(t, `(?m)^  1 rows: `, r.stderr, "progress after each row (in the database's order)")
	assert.Contains(t, r.stderr, "  4 rows: 2 imported, 1 skipped (0 already imported, 1 of inactive users, 0 revoked), 1 invalid")
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
	_, err = d.verify(t, keys[2], tokenauth.Options{AcceptLegacyKeys: true})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "an inactive user's key is not imported")

	// A revoked key stays revoked; a second import skips every key.
	ok(t, d.args("revoke", p.Token.ID)...)
	r = ok(t, importDRF()...)
	assert.Contains(t, r.stdout, ": 0 imported, 3 skipped: 2 already imported (revoked ones stay revoked), 1 of inactive users")
	_, err = d.verify(t, keys[0], tokenauth.Options{AcceptLegacyKeys: true})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidToken, "an import never brings a revoked key back")

	r = ok(t, importDRF("--include-inactive")...)
	assert.Contains(t, r.stdout, ": 1 imported, 2 skipped: 2 already imported")
	_, err = d.verify(t, keys[2], tokenauth.Options{AcceptLegacyKeys: true})
	assert.NoError(t, err)

	r = ok(t, d.args("import-drf", "--from", from, "--drf-table", drfTable, "--users-table", "-")...)
	assert.Contains(t, r.stderr, "Warning: --users-table -: users are not checked")
	assert.Contains(t, r.stdout, ": 0 imported, 3 skipped: 3 already imported")

	r = cli(t, d.args("import-drf", "--from", from, "--drf-table", drfTable, "--users-table", usersTable+"_custom")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "name the users table of a custom user model with --users-table")

	r = cli(t, d.args("import-drf", "--from", from, "--drf-table", drfTable+"_missing")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "tokenauth import-drf: ")
}

func TestUsage(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	empty := "sqlite:" + filepath.Join(dir, "empty.db")
	ok(t, "migrate", "--dsn", empty, "--table", "other") // the file exists, the default table does not
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
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `tokenauth: unknown command "nope"; see 'tokenauth help'`},
		{name: "unknown command", args: []string{"nope"}, code: exitUsage, stderr: `tokenauth: unknown command "nope"; see 'tokenauth help'`},
		{name: "command -h", args: []string{"list", "-h"}, code: exitOK, stdout: "Usage: tokenauth list --user ID"},
		{name: "command --help", args: []string{"create", "--help"}, code: exitOK, stdout: "-ttl lifetime"},
		{name: "unknown flag", args: []string{"create", "-x"}, code: exitUsage, stderr: "tokenauth: unknown flag -x; see 'tokenauth help create'"},
		{name: "flag without value", args: []string{"list", "--dsn"}, code: exitUsage, stderr: "tokenauth: flag needs an argument: -dsn; see 'tokenauth help list'"},
		{name: "bad flag value", args: []string{"create", "--ttl", "soon"}, code: exitUsage, stderr: "invalid value \"soon\" for flag -ttl"},
		{name: "hmac key on the command line", args: []string{"create", "--user", "1", "--hmac-key", "zz-secret-zz"}, code: exitUsage,
			stderr: "tokenauth: --hmac-key is gone: a key on the command line shows in ps and the shell's history; set TOKENAUTH_HMAC_KEY instead"},
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
		{name: "create bad range", args: []string{"create", "--user", "1", "--allow-ip", "10.0.0.0/33"}, code: exitUsage,
			stderr: `invalid value "10.0.0.0/33" for flag -allow-ip: want a CIDR range, as in 192.0.2.0/24 or 2001:db8::/32, or one address`},
		{name: "create zoned address", args: []string{"create", "--user", "1", "--deny-ip", "fe80::1%eth0"}, code: exitUsage, stderr: "for flag -deny-ip: want a CIDR range"},
		{name: "create bad not-before", args: []string{"create", "--user", "1", "--not-before", "tomorrow"}, code: exitUsage, stderr: "want an RFC 3339 time"},
		{name: "create limit without window", args: []string{"create", "--user", "1", "--rate-limit", "5", "--dsn", empty}, code: exitUsage, stderr: "--rate-limit needs --rate-window"},
		{name: "create window without limit", args: []string{"create", "--user", "1", "--rate-window", "1m", "--dsn", empty}, code: exitUsage, stderr: "--rate-window needs --rate-limit"},
		{name: "create negative limit", args: []string{"create", "--user", "1", "--rate-limit", "-1", "--rate-window", "1m", "--dsn", empty}, code: exitUsage, stderr: "must not be negative"},
		{name: "create not-before past expiry", args: []string{"create", "--user", "1", "--ttl", "1h", "--not-before", "2999-01-01T00:00:00Z", "--dsn", empty}, code: exitUsage, stderr: "--not-before must come before the token expires"},
		{name: "list without user", args: []string{"list"}, code: exitUsage, stderr: "--user is required"},
		{name: "revoke nothing", args: []string{"revoke"}, code: exitUsage, stderr: "give the ID of the token to revoke"},
		{name: "revoke both", args: []string{"revoke", "abc", "--user", "1"}, code: exitUsage, stderr: "only one"},
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
			if tt.code == exitUsage && len(tt.args) > 0 {
				// One line that points at help (after any progress).
				assert.Regexp(t, `(^|\n)tokenauth[^\n]*; see 'tokenauth help[^\n]*'\n$`, r.stderr)
			}
			if strings.Contains(tt.name, "flag") || strings.Contains(tt.name, "unknown") {
				assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "a bad command line is one line, not the help: %s", r.stderr)
			}
			assert.NotContains(t, r.stdout+r.stderr, "zz-secret-zz", "keys are never echoed")
		})
	}
}

// The service's HMAC key, from the environment: its errors never quote it.
func TestHMACKeyErrors(t *testing.T) {
	for _, tc := range []struct{ name, key, stderr string }{
		{"neither hex nor base64", "zz-secret-zz!", "TOKENAUTH_HMAC_KEY must be hex or base64; generate a key with: openssl rand -hex 32"},
		{"short hex", strings.Repeat("ab", 20), "TOKENAUTH_HMAC_KEY holds 20 bytes, need at least 32"},
		{"short base64", "c2VjcmV0LXNlY3JldA==", "TOKENAUTH_HMAC_KEY holds 13 bytes, need at least 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(envHMACKey, tc.key)
			r := cli(t, "create", "--user", "1", "--dsn", "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.stderr)
			assert.NotContains(t, r.stderr, tc.key, "the key is never echoed")
		})
	}
}

func TestVersion(t *testing.T) {
	r := ok(t, "version")
	assert.Regexp(t, `^tokenauth (\(devel\)|v\d+\.\d+\.\d+\S*)\n$`, r.stdout)
	assert.Empty(t, r.stderr)
	assert.Equal(t, exitUsage, cli(t, "version", "extra").code)
	assert.Contains(t, ok(t, "help").stdout, "version")
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
