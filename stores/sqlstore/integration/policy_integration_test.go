package integration_test

import (
	"context"
	"database/sql"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
)

// policyColumns are the columns added after v0.1.0, in the order Migrate
// adds them.
var policyColumns = []string{"personal", "not_before", "allowed_ips", "denied_ips", "rate_limit", "rate_window_ns", "created_from", "user_agent"}

// withPolicy returns a token with every policy field set.
func withPolicy(id, user string, digest []byte, created time.Time) *tokenauth.Token {
	return &tokenauth.Token{
		ID: id, UserID: user, Name: "ci", Scopes: []string{"read"}, CreatedAt: created, Digest: digest,
		Personal:    true,
		NotBefore:   created.Add(time.Hour),
		AllowedIPs:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.1.2.3/8")},
		DeniedIPs:   []netip.Prefix{netip.MustParsePrefix("::ffff:10.1.0.0/112")},
		RateLimit:   100,
		RateWindow:  time.Minute + time.Nanosecond,
		CreatedFrom: "2001:db8::1",
		UserAgent:   strings.Repeat("Zoë/1.0 ", 28) + "éab", // 256 bytes, the most a token holds
	}
}

// assertPolicy checks that got holds want's policy.
func assertPolicy(t *testing.T, want, got *tokenauth.Token) {
	t.Helper()
	assert.Equal(t, want.Personal, got.Personal, "Personal")
	assert.True(t, want.NotBefore.Equal(got.NotBefore), "NotBefore %v, want %v", got.NotBefore, want.NotBefore)
	assert.Equal(t, want.AllowedIPs, got.AllowedIPs, "AllowedIPs")
	assert.Equal(t, want.DeniedIPs, got.DeniedIPs, "DeniedIPs")
	assert.Equal(t, want.RateLimit, got.RateLimit, "RateLimit")
	assert.Equal(t, want.RateWindow, got.RateWindow, "RateWindow")
	assert.Equal(t, want.CreatedFrom, got.CreatedFrom, "CreatedFrom")
	assert.Equal(t, want.UserAgent, got.UserAgent, "UserAgent")
}

// The policy reads as plain values in SQL, as the README says: a token
// without policy leaves the columns NULL (personal false), and a host's
// WHERE personal finds the personal tokens on every database.
func TestPolicyColumnsInSQL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		s := newTestStore(t, db, b.dialect)
		created := time.Now().UTC().Truncate(time.Microsecond)
		full := withPolicy("full", "u", []byte{1}, created)
		require.NoError(t, s.Create(ctx, full.Clone()))
		require.NoError(t, s.Create(ctx, &tokenauth.Token{ID: "bare", UserID: "u", CreatedAt: created, Digest: []byte{2}}))

		var allowed, denied, from, agent sql.NullString
		var limit, window sql.NullInt64
		var notBefore any
		err := db.QueryRowContext(ctx, dialectSQL(b.dialect, s.Table(),
			`SELECT allowed_ips, denied_ips, rate_limit, rate_window_ns, created_from, user_agent, not_before FROM "TABLE" WHERE personal AND id = ?`), "full").
			Scan(&allowed, &denied, &limit, &window, &from, &agent, &notBefore)
		require.NoError(t, err)
		assert.Equal(t, "10.0.0.0/8,2001:db8::/32,10.1.2.3/8", allowed.String)
		assert.Equal(t, "::ffff:10.1.0.0/112", denied.String)
		assert.Equal(t, int64(100), limit.Int64)
		assert.Equal(t, int64(time.Minute+time.Nanosecond), window.Int64)
		assert.Equal(t, full.CreatedFrom, from.String)
		assert.Equal(t, full.UserAgent, agent.String)
		assert.NotNil(t, notBefore)

		var nulls int
		err = db.QueryRowContext(ctx, dialectSQL(b.dialect, s.Table(),
			`SELECT COUNT(*) FROM "TABLE" WHERE NOT personal AND id = ? AND not_before IS NULL AND allowed_ips IS NULL AND denied_ips IS NULL
			 AND rate_limit IS NULL AND rate_window_ns IS NULL AND created_from IS NULL AND user_agent IS NULL`), "bare").Scan(&nulls)
		require.NoError(t, err)
		assert.Equal(t, 1, nulls, "a token without policy leaves its columns NULL")

		list, err := s.List(ctx, "u")
		require.NoError(t, err)
		require.Len(t, list, 2)
		byID := map[string]*tokenauth.Token{list[0].ID: list[0], list[1].ID: list[1]}
		assertPolicy(t, full, byID["full"])
		assertPolicy(t, &tokenauth.Token{}, byID["bare"])
	})
}

// A database made by v0.1.0's schema (commit 4a654d6), with tokens in it,
// migrates forward from several processes at once: the policy columns
// appear, once; its tokens still authenticate, without policy; v0.1.0's
// own INSERT still works on the upgraded table (replicas upgraded one at a
// time); and tokens with a policy keep it.
func TestMigrateForwardFrom4a654d6(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		table := tableOfSchema(t, db, b.dialect, schema4a654d6)
		clock := tokenauthtest.NewClock()
		t0 := clock.Now()
		keys := issuedKeys(t, 5)
		session := legacyToken{key: keys[0], id: "session", user: "u1", created: t0, expires: t0.Add(time.Hour), maxExpires: t0.Add(2 * time.Hour)}
		forever := legacyToken{key: keys[1], id: "forever", user: "u1", created: t0}
		expired := legacyToken{key: keys[2], id: "expired", user: "u2", created: t0.Add(-2 * time.Hour), expires: t0.Add(-time.Hour), maxExpires: t0.Add(-time.Hour)}
		for _, tok := range []legacyToken{session, forever, expired} {
			insertLegacy(t, db, b.dialect, table, tok)
		}

		const workers = 4
		var wg sync.WaitGroup
		reps := make([]sqlstore.MigrationReport, workers)
		errs := make([]error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table, Logger: discardLogger()})
				if err == nil {
					reps[i], err = s.MigrateReport(ctx)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		added := 0
		for i := range workers {
			require.NoError(t, errs[i], "concurrent Migrate %d", i)
			assert.Zero(t, reps[i].Backfilled, "v0.1.0's tokens have their deadline already")
			assert.Equal(t, 1, reps[i].NeverExpire)
			if reps[i].AddedColumns != nil {
				added++
				assert.Equal(t, policyColumns, reps[i].AddedColumns)
			}
		}
		assert.Equal(t, 1, added, "one Migrate added the columns")

		s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table, Logger: discardLogger()})
		require.NoError(t, err)
		rep, err := s.MigrateReport(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.MigrationReport{NeverExpire: 1}, rep, "nothing more to add")

		a, err := tokenauth.New(s, tokenauth.Options{Now: clock.Now, Logger: discardLogger()})
		require.NoError(t, err)
		defer a.Close()
		for _, tok := range []legacyToken{session, forever} {
			p, err := a.Verify(ctx, tok.key)
			require.NoError(t, err, "%s still authenticates", tok.id)
			assertPolicy(t, &tokenauth.Token{}, p.Token)
		}
		_, err = a.Verify(ctx, expired.key)
		assert.ErrorIs(t, err, tokenauth.ErrExpired)

		// A replica still on v0.1.0 issues a token on the upgraded table.
		old := legacyToken{key: keys[3], id: "from-old-replica", user: "u1", created: t0, expires: t0.Add(time.Hour), maxExpires: t0.Add(time.Hour)}
		insertLegacy(t, db, b.dialect, table, old)
		p, err := a.Verify(ctx, old.key)
		require.NoError(t, err)
		assertPolicy(t, &tokenauth.Token{}, p.Token)

		full := withPolicy("with-policy", "u1", tokenauth.SHA256.Digest(keys[4]), t0)
		require.NoError(t, s.Create(ctx, full.Clone()))
		got, err := s.Find(ctx, full.Digest)
		require.NoError(t, err)
		assertPolicy(t, full, got)

		// And the v0.1.0 contract still holds: a cut-off revokes them all.
		n, err := s.DeleteUser(ctx, "u1", t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 4, n)
	})
}

// A host whose migration tool owns the schema upgrades a v0.1.0 database
// with the README's statements, then Schema's text again, and never calls
// Migrate: the store then keeps every policy field.
func TestMigrationToolUpgradeFrom4a654d6(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	section, _, found := strings.Cut(string(readme)[strings.Index(string(readme), "### Upgrading from v0.1.0"):], "\n### ")
	require.True(t, found, "README.md has the section on upgrading from v0.1.0")
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)\n```").FindAllStringSubmatch(section, -1)
	require.Len(t, blocks, 3, "one block per dialect")
	upgrade := map[sqlstore.Dialect]string{sqlstore.Postgres: blocks[0][1], sqlstore.MySQL: blocks[1][1], sqlstore.SQLite: blocks[2][1]}

	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		table := tableOfSchema(t, db, b.dialect, schema4a654d6)
		key := issuedKeys(t, 1)[0]
		legacy := legacyToken{key: key, id: "legacy", user: "u", created: time.Now(), expires: time.Now().Add(time.Hour), maxExpires: time.Now().Add(time.Hour)}
		insertLegacy(t, db, b.dialect, table, legacy)

		ddl, err := sqlstore.Schema(b.dialect, table)
		require.NoError(t, err)
		var stmts []string
		for _, stmt := range strings.Split(strings.ReplaceAll(upgrade[b.dialect], "tokenauth_tokens", table), ";\n") {
			stmts = append(stmts, strings.TrimSuffix(stmt, ";"))
		}
		stmts = append(stmts, strings.Split(strings.TrimSuffix(ddl, ";\n"), ";\n\n")...)
		for _, stmt := range stmts {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err, "%s", stmt)
		}

		s, err := sqlstore.New(db, b.dialect, sqlstore.Options{Table: table})
		require.NoError(t, err)
		got, err := s.Find(ctx, tokenauth.SHA256.Digest(key))
		require.NoError(t, err)
		assert.Equal(t, "legacy", got.ID)
		full := withPolicy("full", "u", []byte{1}, time.Now().Truncate(time.Microsecond))
		require.NoError(t, s.Create(ctx, full.Clone()))
		got, err = s.Find(ctx, full.Digest)
		require.NoError(t, err)
		assertPolicy(t, full, got)
	})
}
