-- The schema of commit b4bfc5b (the last before v0.1.0's cut-offs), as its
-- sqlstore.Schema returned it for this dialect: the upgrade tests create it and migrate forward.
CREATE TABLE IF NOT EXISTS `tokenauth_tokens` (
    id             VARBINARY(64)  NOT NULL,
    user_id        VARBINARY(255) NOT NULL,
    name           VARCHAR(200)   NOT NULL,
    scopes         TEXT           NOT NULL, -- JSON array of strings
    digest         VARBINARY(64)  NOT NULL,
    created_at     DATETIME(6)    NOT NULL, -- UTC
    expires_at     DATETIME(6)    NULL,     -- UTC; NULL: never expires
    last_used_at   DATETIME(6)    NULL,     -- UTC; NULL: never used
    max_expires_at DATETIME(6)    NULL,     -- UTC; NULL: no absolute deadline
    PRIMARY KEY (id),
    UNIQUE KEY digest_key (digest),
    KEY user_id_idx (user_id, created_at),
    KEY expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tokenauth_tokens_revocations` (
    seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    token_id   VARBINARY(64)   NOT NULL,
    user_id    VARBINARY(255)  NOT NULL,
    created_at DATETIME(6)     NOT NULL, -- UTC
    PRIMARY KEY (seq),
    KEY created_at_idx (created_at)
) ENGINE=InnoDB;

DROP TRIGGER IF EXISTS `tokenauth_tokens_on_delete`;

CREATE TRIGGER `tokenauth_tokens_on_delete` AFTER DELETE ON `tokenauth_tokens` FOR EACH ROW
INSERT INTO `tokenauth_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));

DROP TRIGGER IF EXISTS `tokenauth_tokens_on_expire`;

CREATE TRIGGER `tokenauth_tokens_on_expire` AFTER UPDATE ON `tokenauth_tokens` FOR EACH ROW
IF NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)
   OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL) THEN
    INSERT INTO `tokenauth_tokens_revocations` (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, UTC_TIMESTAMP(6));
END IF;
