package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

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
	//     id           VARCHAR(64)  NOT NULL,
	//     user_id      VARCHAR(255) NOT NULL,
	//     name         VARCHAR(200) NOT NULL,
	//     scopes       TEXT         NOT NULL, -- JSON array of strings
	//     digest       BYTEA        NOT NULL,
	//     created_at   TIMESTAMPTZ  NOT NULL,
	//     expires_at   TIMESTAMPTZ,           -- NULL: never expires
	//     last_used_at TIMESTAMPTZ,           -- NULL: never used
	//     CONSTRAINT "tokenauth_tokens_pkey" PRIMARY KEY (id),
	//     CONSTRAINT "tokenauth_tokens_digest_key" UNIQUE (digest)
	// );
	//
	// CREATE INDEX IF NOT EXISTS "tokenauth_tokens_user_id_idx" ON "tokenauth_tokens" (user_id, created_at);
	//
	// CREATE INDEX IF NOT EXISTS "tokenauth_tokens_expires_at_idx" ON "tokenauth_tokens" (expires_at) WHERE expires_at IS NOT NULL;
}
