-- The schema of commit 4a654d6 (v0.1.0, before the per-token policy columns),
-- as its sqlstore.Schema returned it for this dialect: the upgrade tests create it and migrate forward.
CREATE TABLE IF NOT EXISTS "tokenauth_tokens" (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- JSON array of strings
    digest         BLOB    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at     INTEGER,          -- Unix microseconds; NULL: never expires
    last_used_at   INTEGER,          -- Unix microseconds; NULL: never used
    max_expires_at INTEGER           -- Unix microseconds; NULL: no absolute deadline
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_revocations" (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    token_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL -- Unix microseconds, UTC
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_revocations_created_at_idx" ON "tokenauth_tokens_revocations" (created_at);

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_cutoffs" (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    not_before INTEGER NOT NULL -- Unix microseconds, UTC; Create refuses the user's tokens created earlier
);

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_imports" (
    digest      BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of a key Import stored
    imported_at INTEGER NOT NULL              -- Unix microseconds, UTC
);

CREATE TRIGGER IF NOT EXISTS "tokenauth_tokens_on_delete" AFTER DELETE ON "tokenauth_tokens"
BEGIN
    INSERT INTO "tokenauth_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;

CREATE TRIGGER IF NOT EXISTS "tokenauth_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "tokenauth_tokens"
WHEN NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)
  OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL)
BEGIN
    INSERT INTO "tokenauth_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
