-- The schema before max_expires_at, as Schema returned it: the upgrade tests
-- create it and run Migrate.
CREATE TABLE IF NOT EXISTS "tokenauth_tokens" (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL, -- JSON array of strings
    digest       BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at   INTEGER,          -- Unix microseconds; NULL: never expires
    last_used_at INTEGER           -- Unix microseconds; NULL: never used
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;
