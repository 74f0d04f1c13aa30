package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// A store on an SQLite file, end to end. The program blank-imports
// modernc.org/sqlite; PostgreSQL and MySQL differ only in the DSN and the
// driver import. This module imports no driver, so the example is compiled,
// not run; stores/sqlstore/integration runs the same calls (TestOpen,
// TestStore).
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "tokens.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	auth, err := tokenauth.New(store, tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	key, _, err := auth.Issue(ctx, "alice", tokenauth.IssueOptions{Name: "cli", Scopes: []string{"read"}})
	if err != nil {
		log.Fatal(err)
	}
	p, err := auth.Verify(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Token.UserID, p.Token.Name, p.Token.Scopes) // alice cli [read]

	n, err := auth.RevokeAll(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	_, err = auth.Verify(ctx, key)
	fmt.Println("revoked:", n, err) // revoked: 1 tokenauth: invalid token
}

// Watch hears of revocations made by anyone: here another process's
// plain SQL, on an SQLite file. A cache (package cachestore) watches the
// store it wraps this way, and evicts what changed. Like ExampleOpen it is
// compiled, not run, since this module imports no driver;
// stores/sqlstore/integration runs Watch on every database.
func ExampleStore_Watch() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "tokens.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	auth, err := tokenauth.New(store, tokenauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_, tok, err := auth.Issue(ctx, "alice", tokenauth.IssueOptions{Name: "cli"})
	if err != nil {
		log.Fatal(err)
	}

	ready := make(chan struct{})
	var once sync.Once // ready comes again after every poll
	changed := make(chan string)
	go func() {
		err := store.Watch(ctx, func() { once.Do(func() { close(ready) }) }, func(tokenID, userID string) {
			changed <- userID + "'s token " + tokenID
		})
		if !errors.Is(err, context.Canceled) {
			log.Print(err)
		}
	}()
	<-ready

	// Another process, which knows nothing of this one.
	other, _, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "DELETE FROM tokenauth_tokens WHERE user_id = 'alice'"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-changed == "alice's token "+tok.ID) // true
}

func ExampleParseDSN() {
	driver, source, dialect, err := sqlstore.ParseDSN("mysql://app:secret@db.internal/app?tls=true")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(driver, dialect)
	fmt.Println(source)
	// Output:
	// mysql mysql
	// app:secret@tcp(db.internal:3306)/app?tls=true&parseTime=true&interpolateParams=true
}

// The DDL for a migration file of the host's own tool.
func ExampleSchema() {
	ddl, err := sqlstore.Schema(sqlstore.Postgres, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "tokenauth_tokens" (
	//     id             VARCHAR(64)  NOT NULL,
	//     user_id        VARCHAR(255) NOT NULL,
	//     name           VARCHAR(200) NOT NULL,
	//     scopes         TEXT         NOT NULL, -- JSON array of strings
	//     digest         BYTEA        NOT NULL,
	//     created_at     TIMESTAMPTZ  NOT NULL,
	//     expires_at     TIMESTAMPTZ,           -- NULL: never expires
	//     last_used_at   TIMESTAMPTZ,           -- NULL: never used
	//     max_expires_at TIMESTAMPTZ,           -- NULL: no absolute deadline
	//     personal       BOOLEAN      NOT NULL DEFAULT FALSE, -- a personal access token, not a login's session
	//     not_before     TIMESTAMPTZ,           -- NULL: valid from creation
	//     allowed_ips    TEXT,                  -- NULL: anywhere; else the prefixes it works from, comma-separated
	//     denied_ips     TEXT,                  -- NULL: none; else the prefixes it never works from, comma-separated
	//     rate_limit     BIGINT,                -- NULL: no limit; else requests per rate window
	//     rate_window_ns BIGINT,                -- the rate window, in nanoseconds
	//     created_from   VARCHAR(64),           -- the client address it was issued to; NULL: unknown
	//     user_agent     VARCHAR(256),          -- that client's User-Agent; NULL: unknown
	//     CONSTRAINT "tokenauth_tokens_pkey" PRIMARY KEY (id),
	//     CONSTRAINT "tokenauth_tokens_digest_key" UNIQUE (digest)
	// );
	//
	// CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);
	//
	// CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;
	//
	// CREATE TABLE IF NOT EXISTS "tokenauth_tokens_revocations" (
	//     seq        BIGSERIAL    NOT NULL PRIMARY KEY,
	//     token_id   VARCHAR(64)  NOT NULL,
	//     user_id    VARCHAR(255) NOT NULL,
	//     created_at TIMESTAMPTZ  NOT NULL
	// );
	//
	// CREATE INDEX IF NOT EXISTS "tokenauth_tokens_revoked_at_idx" ON "tokenauth_tokens_revocations" (created_at);
	//
	// CREATE TABLE IF NOT EXISTS "tokenauth_tokens_cutoffs" (
	//     user_id    VARCHAR(255) NOT NULL,
	//     not_before TIMESTAMPTZ  NOT NULL, -- Create refuses the user's tokens created earlier
	//     CONSTRAINT "tokenauth_tokens_cutoffs_pkey" PRIMARY KEY (user_id)
	// );
	//
	// CREATE TABLE IF NOT EXISTS "tokenauth_tokens_imports" (
	//     digest      BYTEA       NOT NULL, -- SHA-256 of a key Import stored
	//     imported_at TIMESTAMPTZ NOT NULL,
	//     CONSTRAINT "tokenauth_tokens_imports_pkey" PRIMARY KEY (digest)
	// );
	//
	// CREATE OR REPLACE FUNCTION "tokenauth_tokens_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
	// BEGIN
	//     INSERT INTO "tokenauth_tokens_revocations" (token_id, user_id, created_at) VALUES (OLD.id, OLD.user_id, clock_timestamp());
	//     PERFORM pg_notify('tokenauth_tokens_revocations', json_build_array(OLD.id, OLD.user_id)::text);
	//     RETURN NULL;
	// END
	// $$;
	//
	// DO $$
	// BEGIN
	//     IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"tokenauth_tokens"'::regclass AND tgname = 'tokenauth_tokens_on_delete') THEN
	//         CREATE TRIGGER "tokenauth_tokens_on_delete" AFTER DELETE ON "tokenauth_tokens"
	//             FOR EACH ROW EXECUTE PROCEDURE "tokenauth_tokens_notify"();
	//     END IF;
	//     IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"tokenauth_tokens"'::regclass AND tgname = 'tokenauth_tokens_on_expire') THEN
	//         CREATE TRIGGER "tokenauth_tokens_on_expire" AFTER UPDATE OF expires_at, max_expires_at ON "tokenauth_tokens"
	//             FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at OR (NEW.expires_at IS NOT NULL AND OLD.expires_at IS NULL)
	//                                OR NEW.max_expires_at < OLD.max_expires_at OR (NEW.max_expires_at IS NOT NULL AND OLD.max_expires_at IS NULL))
	//             EXECUTE PROCEDURE "tokenauth_tokens_notify"();
	//     END IF;
	// END
	// $$;
}
