-- The schema before max_expires_at, as Schema returned it: the upgrade tests
-- create it and run Migrate.
CREATE TABLE IF NOT EXISTS "tokenauth_tokens" (
    id           VARCHAR(64)  NOT NULL,
    user_id      VARCHAR(255) NOT NULL,
    name         VARCHAR(200) NOT NULL,
    scopes       TEXT         NOT NULL, -- JSON array of strings
    digest       BYTEA        NOT NULL,
    created_at   TIMESTAMPTZ  NOT NULL,
    expires_at   TIMESTAMPTZ,           -- NULL: never expires
    last_used_at TIMESTAMPTZ,           -- NULL: never used
    CONSTRAINT "tokenauth_tokens_pkey" PRIMARY KEY (id),
    CONSTRAINT "tokenauth_tokens_digest_key" UNIQUE (digest)
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;
