-- The schema of commit 4a654d6 (v0.1.0, before the per-token policy columns),
-- as its sqlstore.Schema returned it for this dialect: the upgrade tests create it and migrate forward.
CREATE TABLE IF NOT EXISTS "tokenauth_tokens" (
    id             VARCHAR(64)  NOT NULL,
    user_id        VARCHAR(255) NOT NULL,
    name           VARCHAR(200) NOT NULL,
    scopes         TEXT         NOT NULL, -- JSON array of strings
    digest         BYTEA        NOT NULL,
    created_at     TIMESTAMPTZ  NOT NULL,
    expires_at     TIMESTAMPTZ,           -- NULL: never expires
    last_used_at   TIMESTAMPTZ,           -- NULL: never used
    max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline
    CONSTRAINT "tokenauth_tokens_pkey" PRIMARY KEY (id),
    CONSTRAINT "tokenauth_tokens_digest_key" UNIQUE (digest)
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_revocations" (
    seq        BIGSERIAL    NOT NULL PRIMARY KEY,
    token_id   VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL
);

CREATE INDEX IF NOT EXISTS "tokenauth_tokens_revoked_at_idx" ON "tokenauth_tokens_revocations" (created_at);

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_cutoffs" (
    user_id    VARCHAR(255) NOT NULL,
    not_before TIMESTAMPTZ  NOT NULL, -- Create refuses the user's tokens created earlier
    CONSTRAINT "tokenauth_tokens_cutoffs_pkey" PRIMARY KEY (user_id)
);

CREATE TABLE IF NOT EXISTS "tokenauth_tokens_imports" (
    digest      BYTEA       NOT NULL, -- SHA-256 of a key Import stored
    imported_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT "tokenauth_tokens_imports_pkey" PRIMARY KEY (digest)
);

CREATE OR REPLACE FUNCTION "tokenauth_tokens_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "tokenauth_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, clock_timestamp());
    PERFORM pg_notify('tokenauth_tokens_revocations', json_build_array(OLD.id, OLD.user_id)::text);
    RETURN NULL;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"tokenauth_tokens"'::regclass AND tgname = 'tokenauth_tokens_on_delete') THEN
        CREATE TRIGGER "tokenauth_tokens_on_delete" AFTER DELETE ON "tokenauth_tokens"
            FOR EACH ROW EXECUTE PROCEDURE "tokenauth_tokens_notify"();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"tokenauth_tokens"'::regclass AND tgname = 'tokenauth_tokens_on_expire') THEN
        CREATE TRIGGER "tokenauth_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "tokenauth_tokens"
            FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)
                               OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL))
            EXECUTE PROCEDURE "tokenauth_tokens_notify"();
    END IF;
END
$$;
