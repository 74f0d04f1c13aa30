package sqlstore_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

func TestSchema(t *testing.T) {
	for _, tc := range []struct {
		d    sqlstore.Dialect
		want []string
	}{
		{sqlstore.Postgres, []string{
			`CREATE TABLE IF NOT EXISTS "api_tokens" (`,
			"digest         BYTEA        NOT NULL,",
			"created_at     TIMESTAMPTZ  NOT NULL,",
			"max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline",
			"personal       BOOLEAN      NOT NULL DEFAULT FALSE, -- a personal access token, not a login's session",
			"not_before     TIMESTAMPTZ,           -- NULL: valid from creation",
			"allowed_ips    TEXT,                  -- NULL: anywhere; else the prefixes it works from, comma-separated",
			"rate_window_ns BIGINT,                -- the rate window, in nanoseconds",
			"user_agent     VARCHAR(256),          -- that client's User-Agent; NULL: unknown\n    CONSTRAINT",
			`CONSTRAINT "api_tokens_pkey" PRIMARY KEY (id),`,
			`CONSTRAINT "api_tokens_digest_key" UNIQUE (digest)`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
			`CREATE INDEX IF NOT EXISTS "api_tokens_expires_at_idx" ON "api_tokens" (expires_at) WHERE expires_at IS NOT NULL;`,
			`CREATE OR REPLACE FUNCTION "api_tokens_notify"() RETURNS trigger LANGUAGE plpgsql AS $$`,
			`PERFORM pg_notify('api_tokens_revocations', json_build_array(OLD.id, OLD.user_id)::text);`,
			`IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"api_tokens"'::regclass AND tgname = 'api_tokens_on_delete') THEN`,
			`CREATE TRIGGER "api_tokens_on_delete" AFTER DELETE ON "api_tokens"`,
			`CREATE TRIGGER "api_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "api_tokens"`,
			`FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)`,
			`OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL))`,
		}},
		{sqlstore.MySQL, []string{
			"CREATE TABLE IF NOT EXISTS `api_tokens` (",
			"id             VARBINARY(64)  NOT NULL,",
			"digest         VARBINARY(64)  NOT NULL,",
			"expires_at     DATETIME(6)    NULL,",
			"max_expires_at DATETIME(6)    NULL,",
			"personal       BOOLEAN        NOT NULL DEFAULT FALSE,",
			"not_before     DATETIME(6)    NULL,     -- UTC; NULL: valid from creation",
			"denied_ips     TEXT           NULL,",
			"rate_limit     BIGINT         NULL,",
			"created_from   VARCHAR(64)    NULL,",
			"user_agent     VARCHAR(256)   NULL,     -- that client's User-Agent; NULL: unknown\n    PRIMARY KEY (id),",
			"UNIQUE KEY digest_key (digest),",
			"KEY user_id_idx (user_id, created_at),",
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
			"CREATE TABLE IF NOT EXISTS `api_tokens_revocations` (",
			"seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,",
			"DROP TRIGGER IF EXISTS `api_tokens_on_delete`;\n\nCREATE TRIGGER `api_tokens_on_delete` AFTER DELETE ON `api_tokens` FOR EACH ROW\n" +
				"INSERT INTO `api_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));",
			"DROP TRIGGER IF EXISTS `api_tokens_on_expire`;\n\nCREATE TRIGGER `api_tokens_on_expire` AFTER UPDATE ON `api_tokens` FOR EACH ROW\n" +
				"IF NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)\n" +
				"   OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL) THEN\n" +
				"    INSERT INTO `api_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));\n" +
				"END IF;",
		}},
		{sqlstore.SQLite, []string{
			`CREATE TABLE IF NOT EXISTS "api_tokens" (`,
			"digest         BLOB    NOT NULL UNIQUE,",
			"created_at     INTEGER NOT NULL, -- Unix microseconds, UTC",
			"max_expires_at INTEGER,          -- Unix microseconds; NULL: no absolute deadline",
			"personal       INTEGER NOT NULL DEFAULT 0,",
			"not_before     INTEGER,          -- Unix microseconds; NULL: valid from creation",
			"rate_window_ns INTEGER,          -- the rate window, in nanoseconds",
			"user_agent     TEXT              -- that client's User-Agent; NULL: unknown\n);",
			`CREATE INDEX IF NOT EXISTS "api_tokens_user_id_idx" ON "api_tokens" (user_id, created_at);`,
			`CREATE TABLE IF NOT EXISTS "api_tokens_revocations" (`,
			"seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,",
			`CREATE INDEX IF NOT EXISTS "api_tokens_revocations_created_at_idx" ON "api_tokens_revocations" (created_at);`,
			`CREATE TRIGGER IF NOT EXISTS "api_tokens_on_delete" AFTER DELETE ON "api_tokens"`,
			`CREATE TRIGGER IF NOT EXISTS "api_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "api_tokens"`,
			`INSERT INTO "api_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));` + "\nEND;",
		}},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			ddl, err := sqlstore.Schema(tc.d, "api_tokens")
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.Contains(t, ddl, w)
			}
			assert.True(t, strings.HasSuffix(ddl, ";\n"))
			def, err := sqlstore.Schema(tc.d, "")
			require.NoError(t, err)
			assert.Equal(t, strings.ReplaceAll(ddl, "api_tokens", sqlstore.DefaultTable), def, "empty means DefaultTable")
		})
	}
	_, err := sqlstore.Schema(0, "")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
	_, err = sqlstore.Schema(sqlstore.Postgres, "Tokens; DROP TABLE users")
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}

// upgradeSQL is the statement that adds max_expires_at to a table created
// before it existed, on each dialect, for the default table.
var upgradeSQL = map[sqlstore.Dialect]string{
	sqlstore.Postgres: `ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at TIMESTAMPTZ`,
	sqlstore.MySQL:    "ALTER TABLE `tokenauth_tokens` ADD COLUMN max_expires_at DATETIME(6) NULL",
	sqlstore.SQLite:   `ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at INTEGER`,
}

// The README shows each dialect's schema as Schema returns it, and the
// statements that upgrade older tables as Migrate runs them.
func TestREADMEShowsTheSchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		ddl, err := sqlstore.Schema(d, "")
		require.NoError(t, err)
		assert.Contains(t, string(readme), "```sql\n"+ddl+"```", "README.md's %s schema is out of date", d)
		assert.Contains(t, string(readme), "```sql\n"+upgradeSQL[d]+";\n```", "README.md's %s upgrade is out of date", d)
		assert.Contains(t, string(readme), "```sql\n"+strings.Join(addPolicySQL(d), ";\n")+";\n```", "README.md's %s policy upgrade is out of date", d)
	}
	assert.Contains(t, string(readme), "```sql\n"+backfillSQL[sqlstore.Postgres]+";\n```", "README.md's backfill is out of date")
}
