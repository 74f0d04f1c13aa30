-- The schema before max_expires_at, as Schema returned it: the upgrade tests
-- create it and run Migrate.
CREATE TABLE IF NOT EXISTS `tokenauth_tokens` (
    id           VARBINARY(64)  NOT NULL,
    user_id      VARBINARY(255) NOT NULL,
    name         VARCHAR(200)   NOT NULL,
    scopes       TEXT           NOT NULL, -- JSON array of strings
    digest       VARBINARY(64)  NOT NULL,
    created_at   DATETIME(6)    NOT NULL, -- UTC
    expires_at   DATETIME(6)    NULL,     -- UTC; NULL: never expires
    last_used_at DATETIME(6)    NULL,     -- UTC; NULL: never used
    PRIMARY KEY (id),
    UNIQUE KEY digest_key (digest),
    KEY user_id_idx (user_id, created_at),
    KEY expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
