package sqlstore

import (
	"fmt"
	"strings"
)

// maxTableLen leaves room for the index-name suffixes within PostgreSQL's
// 63-byte identifiers.
const maxTableLen = 48

// checkTable accepts 1 to maxTableLen lowercase ASCII letters, digits and
// underscores, not starting with a digit. Lowercase names mean the same
// quoted or not on every dialect, so the host's own SQL can leave them
// unquoted.
func checkTable(name string) error {
	ok := len(name) > 0 && len(name) <= maxTableLen && !(name[0] >= '0' && name[0] <= '9')
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return invalidOptions(fmt.Sprintf("table name %q must be 1 to %d lowercase ASCII letters, digits and underscores, not starting with a digit", name, maxTableLen))
	}
	return nil
}

// quote quotes a checked identifier, so that a reserved word is still a
// valid table name.
func quote(d Dialect, name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// Schema returns the DDL that creates the tokens table, its indexes, the
// revocation log, cut-offs and import ledger tables, and the revocation
// triggers for dialect d: statements ending in semicolons,
// for a migration file of the host's own tool (goose, golang-migrate,
// atlas…). An empty table means DefaultTable. Applying it twice changes
// nothing: tables and indexes are created IF NOT EXISTS, PostgreSQL's
// triggers only when missing, SQLite's IF NOT EXISTS, and MySQL's are
// dropped and created again (MySQL before 8.0.29 has no CREATE TRIGGER IF
// NOT EXISTS).
//
// Trigger bodies hold semicolons of their own: give the file to a tool
// that sends it whole (golang-migrate, psql, sqlite3), or mark each such
// statement (goose's StatementBegin and StatementEnd, the mysql client's
// DELIMITER).
//
// A table created by an earlier release lacks the columns added since
// (max_expires_at; the per-token policy columns, personal to user_agent),
// which IF NOT EXISTS does not add. Migrate adds them; a host's tool
// needs a migration of its own, before the new release runs, with the
// statements the README gives for its dialect, such as
//
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at TIMESTAMPTZ;      -- PostgreSQL
//	ALTER TABLE `tokenauth_tokens` ADD COLUMN max_expires_at DATETIME(6) NULL; -- MySQL
//	ALTER TABLE "tokenauth_tokens" ADD COLUMN max_expires_at INTEGER;          -- SQLite
//
// then Schema's statements again, for the triggers and the tables beside
// the tokens'. Upgrading from before v0.1.0, give the tokens without an
// absolute deadline their expiry as one, once, as Migrate does:
//
//	UPDATE "tokenauth_tokens" SET max_expires_at = expires_at WHERE max_expires_at IS NULL AND expires_at IS NOT NULL;
func Schema(d Dialect, table string) (string, error) {
	if !d.valid() {
		return "", invalidOptions("unknown dialect " + d.String())
	}
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return "", err
	}
	ddl := schema(d, table)
	stmts := append(ddl.tables, ddl.schemaTriggers()...)
	return strings.Join(stmts, ";\n\n") + ";\n", nil
}

// ddl is the schema of one table for one dialect.
type ddl struct {
	// tables creates the tokens table, its indexes and, on MySQL and
	// SQLite, the revocation log: IF NOT EXISTS.
	tables []string
	// triggers creates the revocation triggers. On PostgreSQL and SQLite
	// each statement creates what is missing; on MySQL each creates one
	// trigger, which Migrate runs only when the trigger is missing.
	triggers []trigger
}

// trigger is one statement of ddl.triggers, and on MySQL the name of the
// trigger it creates.
type trigger struct{ name, create string }

// schemaTriggers returns the trigger statements of Schema: on MySQL, each
// CREATE TRIGGER follows a DROP TRIGGER IF EXISTS.
func (d ddl) schemaTriggers() []string {
	var out []string
	for _, tr := range d.triggers {
		if tr.name != "" {
			out = append(out, "DROP TRIGGER IF EXISTS "+quote(MySQL, tr.name))
		}
		out = append(out, tr.create)
	}
	return out
}

// Names of the revocation machinery, derived from the table name so that
// several tables coexist in one database. The longest, the channel and the
// log table, fit PostgreSQL's and MySQL's 63- and 64-byte identifiers for
// a table name of maxTableLen bytes.
func revocationsName(table string) string { return table + "_revocations" } // channel, log table
func cutoffsName(table string) string     { return table + "_cutoffs" }     // DeleteUser's cut-offs
func importsName(table string) string     { return table + "_imports" }     // Import's ledger
func notifyFuncName(table string) string  { return table + "_notify" }      // PostgreSQL's trigger function
func onDeleteName(table string) string    { return table + "_on_delete" }
func onExpireName(table string) string    { return table + "_on_expire" }

// expiredEarlier is the condition, on a trigger's OLD and NEW rows, under
// which an UPDATE brought a token's expiry forward: a column that moved
// earlier, or was set where it was NULL (never). Touch only moves
// expires_at later, so it never meets it.
// Its second line starts with indent.
func expiredEarlier(indent string) string {
	return "NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)\n" +
		indent + "OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL)"
}

// column is a column that tables of earlier releases lack, which
// Migrate adds.
type column struct {
	name  string
	types [3]string // PostgreSQL's, MySQL's and SQLite's
	// notNull is the default of a NOT NULL column, by dialect; the others
	// are nullable.
	notNull [3]string
	// note is the comment CREATE TABLE gives it; a time column's starts
	// with the dialect's unit (timeNote).
	note string
	time bool
}

// decl declares c on dialect d, in ALTER TABLE … ADD COLUMN; pad widens
// the type so that CREATE TABLE's lines align.
func (c column) decl(d Dialect, pad int) string {
	typ := fmt.Sprintf("%-*s", pad, c.types[d-Postgres])
	switch {
	case c.notNull[d-Postgres] != "":
		return typ + " NOT NULL DEFAULT " + c.notNull[d-Postgres]
	case d == MySQL:
		return typ + " NULL"
	}
	return strings.TrimRight(typ, " ")
}

// maxExpiresAt is the column added after the first release.
var maxExpiresAt = column{name: "max_expires_at", types: [3]string{"TIMESTAMPTZ", "DATETIME(6)", "INTEGER"}}

// policyColumns hold the per-token policy, and what a user is shown about
// a token. Each is a typed column rather than a field of one JSON
// document: Find reads them without parsing, the database checks their
// types, and a host's SQL can read and filter them (WHERE personal, WHERE
// allowed_ips IS NOT NULL). They are nullable, NULL meaning unset, but
// personal, NOT NULL with a constant default: adding them to a table of
// an earlier release leaves its tokens without policy, and copies no rows
// on current databases (see Migrate).
var policyColumns = []column{
	{name: "personal", types: [3]string{"BOOLEAN", "BOOLEAN", "INTEGER"}, notNull: [3]string{"FALSE", "FALSE", "0"},
		note: "a personal access token, not a login's session"},
	{name: "not_before", types: [3]string{"TIMESTAMPTZ", "DATETIME(6)", "INTEGER"}, note: "NULL: valid from creation", time: true},
	{name: "allowed_ips", types: [3]string{"TEXT", "TEXT", "TEXT"}, note: "NULL: anywhere; else the prefixes it works from, comma-separated"},
	{name: "denied_ips", types: [3]string{"TEXT", "TEXT", "TEXT"}, note: "NULL: none; else the prefixes it never works from, comma-separated"},
	{name: "rate_limit", types: [3]string{"BIGINT", "BIGINT", "INTEGER"}, note: "NULL: no limit; else requests per rate window"},
	{name: "rate_window_ns", types: [3]string{"BIGINT", "BIGINT", "INTEGER"}, note: "the rate window, in nanoseconds"},
	{name: "created_from", types: [3]string{"VARCHAR(64)", "VARCHAR(64)", "TEXT"}, note: "the client address it was issued to; NULL: unknown"},
	{name: "user_agent", types: [3]string{"VARCHAR(256)", "VARCHAR(256)", "TEXT"}, note: "that client's User-Agent; NULL: unknown"},
}

// timeNote is what a time column's comment says first on each dialect.
var timeNote = [3]string{"", "UTC; ", "Unix microseconds; "}

// policyColumnsDDL returns the lines of CREATE TABLE that declare the
// policy columns, aligned with the lines above them. On SQLite they end
// the column list, and the last has no comma.
func policyColumnsDDL(d Dialect) string {
	// The widths of the type, and of the declaration with its comma, on
	// the lines above.
	typeWidth, declWidth := [3]int{12, 14, 7}[d-Postgres], [3]int{23, 25, 18}[d-Postgres]
	var b strings.Builder
	for i, c := range policyColumns {
		decl := c.decl(d, typeWidth) + ","
		if d == SQLite && i == len(policyColumns)-1 {
			decl = c.decl(d, typeWidth)
		}
		note := c.note
		if c.time {
			note = timeNote[d-Postgres] + note
		}
		fmt.Fprintf(&b, "    %-14s %-*s -- %s\n", c.name, declWidth-1, decl, note)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// schema returns the DDL of Schema. MySQL has no CREATE INDEX IF NOT
// EXISTS, so there the indexes are declared in the CREATE TABLE itself.
//
// The revocation triggers fire after a DELETE, and after an UPDATE that
// brings the expiry forward (expiredEarlier). On every dialect they append
// a row to the revocation log, which Watch polls; on PostgreSQL they also
// NOTIFY the channel revocationsName(table) with the JSON array
// [id, user_id], at most 330 bytes of PostgreSQL's 8000, for a Watch that
// listens.
func schema(d Dialect, table string) ddl {
	t := quote(d, table)
	idx := func(suffix string) string { return quote(d, table+suffix) }
	log := quote(d, revocationsName(table))
	cutoffs := quote(d, cutoffsName(table))
	imports := quote(d, importsName(table))
	switch d {
	case Postgres:
		fn := quote(d, notifyFuncName(table))
		ifMissing := func(name, create string) string {
			return "    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '" + t + "'::regclass AND tgname = '" + name + "') THEN\n" +
				"        " + create + ";\n" +
				"    END IF;\n"
		}
		return ddl{tables: []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             VARCHAR(64)  NOT NULL,
    user_id        VARCHAR(255) NOT NULL,
    name           VARCHAR(200) NOT NULL,
    scopes         TEXT         NOT NULL, -- JSON array of strings
    digest         BYTEA        NOT NULL,
    created_at     TIMESTAMPTZ  NOT NULL,
    expires_at     TIMESTAMPTZ,           -- NULL: never expires
    last_used_at   TIMESTAMPTZ,           -- NULL: never used
    max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline
` + policyColumnsDDL(d) + `
    CONSTRAINT ` + idx("_pkey") + ` PRIMARY KEY (id),
    CONSTRAINT ` + idx("_digest_key") + ` UNIQUE (digest)
)`,
			"CREATE INDEX IF NOT EXISTS " + idx("_user_id_idx") + " ON " + t + " (user_id, created_at)",
			"CREATE INDEX IF NOT EXISTS " + idx("_expires_at_idx") + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
			"CREATE TABLE IF NOT EXISTS " + log + ` (
    seq        BIGSERIAL    NOT NULL PRIMARY KEY,
    token_id   VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL
)`,
			"CREATE INDEX IF NOT EXISTS " + idx("_revoked_at_idx") + " ON " + log + " (created_at)",
			"CREATE TABLE IF NOT EXISTS " + cutoffs + ` (
    user_id    VARCHAR(255) NOT NULL,
    not_before TIMESTAMPTZ  NOT NULL, -- Create refuses the user's tokens created earlier
    CONSTRAINT ` + quote(d, cutoffsName(table)+"_pkey") + ` PRIMARY KEY (user_id)
)`,
			"CREATE TABLE IF NOT EXISTS " + imports + ` (
    digest      BYTEA       NOT NULL, -- SHA-256 of a key Import stored
    imported_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT ` + quote(d, importsName(table)+"_pkey") + ` PRIMARY KEY (digest)
)`,
		}, triggers: []trigger{
			{create: "CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $$\n" +
				"BEGIN\n" +
				"    INSERT INTO " + log + " (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, clock_timestamp());\n" +
				"    PERFORM pg_notify('" + revocationsName(table) + "', json_build_array(OLD.id, OLD.user_id)::text);\n" +
				"    RETURN NULL;\n" +
				"END\n" +
				"$$"},
			{create: "DO $$\n" +
				"BEGIN\n" +
				ifMissing(onDeleteName(table), "CREATE TRIGGER "+quote(d, onDeleteName(table))+" AFTER DELETE ON "+t+
					"\n            FOR EACH ROW EXECUTE PROCEDURE "+fn+"()") +
				ifMissing(onExpireName(table), "CREATE TRIGGER "+quote(d, onExpireName(table))+" AFTER UPDATE OF expires_at, max_expires_at ON "+t+
					"\n            FOR EACH ROW WHEN ("+expiredEarlier(strings.Repeat(" ", 31))+")"+
					"\n            EXECUTE PROCEDURE "+fn+"()") +
				"END\n" +
				"$$"},
		}}
	case MySQL:
		insert := "INSERT INTO " + log + " (token_id, user_id, created_at)"
		return ddl{tables: []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             VARBINARY(64)  NOT NULL,
    user_id        VARBINARY(255) NOT NULL,
    name           VARCHAR(200)   NOT NULL,
    scopes         TEXT           NOT NULL, -- JSON array of strings
    digest         VARBINARY(64)  NOT NULL,
    created_at     DATETIME(6)    NOT NULL, -- UTC
    expires_at     DATETIME(6)    NULL,     -- UTC; NULL: never expires
    last_used_at   DATETIME(6)    NULL,     -- UTC; NULL: never used
    max_expires_at DATETIME(6)    NULL,     -- UTC; NULL: no absolute deadline
` + policyColumnsDDL(d) + `
    PRIMARY KEY (id),
    UNIQUE KEY digest_key (digest),
    KEY user_id_idx (user_id, created_at),
    KEY expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
			"CREATE TABLE IF NOT EXISTS " + log + ` (
    seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    token_id   VARBINARY(64)   NOT NULL,
    user_id    VARBINARY(255)  NOT NULL,
    created_at DATETIME(6)     NOT NULL, -- UTC
    PRIMARY KEY (seq),
    KEY created_at_idx (created_at)
) ENGINE=InnoDB`,
			"CREATE TABLE IF NOT EXISTS " + cutoffs + ` (
    user_id    VARBINARY(255) NOT NULL,
    not_before DATETIME(6)    NOT NULL, -- UTC; Create refuses the user's tokens created earlier
    PRIMARY KEY (user_id)
) ENGINE=InnoDB`,
			"CREATE TABLE IF NOT EXISTS " + imports + ` (
    digest      VARBINARY(32) NOT NULL, -- SHA-256 of a key Import stored
    imported_at DATETIME(6)   NOT NULL, -- UTC
    PRIMARY KEY (digest)
) ENGINE=InnoDB`,
		}, triggers: []trigger{
			{onDeleteName(table), "CREATE TRIGGER " + quote(d, onDeleteName(table)) + " AFTER DELETE ON " + t + " FOR EACH ROW\n" +
				insert + " VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6))"},
			// MySQL has no UPDATE OF nor WHEN: the trigger runs on every
			// updated row, Touch's included. An IF costs MariaDB about
			// 10 µs a row where an INSERT … SELECT … WHERE costs 35.
			{onExpireName(table), "CREATE TRIGGER " + quote(d, onExpireName(table)) + " AFTER UPDATE ON " + t + " FOR EACH ROW\n" +
				"IF " + expiredEarlier("   ") + " THEN\n" +
				"    " + insert + " VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));\n" +
				"END IF"},
		}}
	case SQLite:
		insert := "INSERT INTO " + log + " (token_id, user_id, created_at)" +
			" VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))"
		return ddl{tables: []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- JSON array of strings
    digest         BLOB    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at     INTEGER,          -- Unix microseconds; NULL: never expires
    last_used_at   INTEGER,          -- Unix microseconds; NULL: never used
    max_expires_at INTEGER,          -- Unix microseconds; NULL: no absolute deadline
` + policyColumnsDDL(d) + `
)`,
			"CREATE INDEX IF NOT EXISTS " + idx("_user_id_idx") + " ON " + t + " (user_id, created_at)",
			"CREATE INDEX IF NOT EXISTS " + idx("_expires_at_idx") + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
			// AUTOINCREMENT: a sequence number is never used twice, even
			// once the rows above it are pruned.
			"CREATE TABLE IF NOT EXISTS " + log + ` (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    token_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL -- Unix microseconds, UTC
)`,
			"CREATE INDEX IF NOT EXISTS " + quote(d, revocationsName(table)+"_created_at_idx") + " ON " + log + " (created_at)",
			"CREATE TABLE IF NOT EXISTS " + cutoffs + ` (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    not_before INTEGER NOT NULL -- Unix microseconds, UTC; Create refuses the user's tokens created earlier
)`,
			"CREATE TABLE IF NOT EXISTS " + imports + ` (
    digest      BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of a key Import stored
    imported_at INTEGER NOT NULL              -- Unix microseconds, UTC
)`,
		}, triggers: []trigger{
			{create: "CREATE TRIGGER IF NOT EXISTS " + quote(d, onDeleteName(table)) + " AFTER DELETE ON " + t + "\n" +
				"BEGIN\n    " + insert + ";\nEND"},
			{create: "CREATE TRIGGER IF NOT EXISTS " + quote(d, onExpireName(table)) + " AFTER UPDATE OF expires_at, max_expires_at ON " + t + "\n" +
				"WHEN " + expiredEarlier("  ") + "\n" +
				"BEGIN\n    " + insert + ";\nEND"},
		}}
	}
	return ddl{}
}

// countTriggersQuery returns the query that counts the table's triggers
// among two names, given the table (quoted on PostgreSQL, for regclass)
// and the names; on PostgreSQL, given also the trigger function and the
// log's name, it adds one if the function writes the log.
func countTriggersQuery(d Dialect) string {
	switch d {
	case Postgres:
		// And the trigger function, if it writes the log: one from before
		// v0.1.0 only notifies, and polling would hear nothing.
		return "SELECT (SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = CAST($1 AS text)::regclass AND tgname IN ($2, $3))" +
			" + (SELECT COUNT(*) FROM pg_proc WHERE oid = to_regproc($4) AND strpos(prosrc, $5) > 0)"
	case MySQL:
		return "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()" +
			" AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?, ?)"
	}
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name IN (?, ?)"
}
