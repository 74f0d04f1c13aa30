package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"

	// The drivers of the DSN forms --dsn and --from accept.
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Environment variables read when the flags are not given.
const (
	envDSN     = "TOKENAUTH_DSN"
	envHMACKey = "TOKENAUTH_HMAC_KEY"
)

// connectTimeout bounds opening a database: a server that does not answer
// must not hang the command.
const connectTimeout = 15 * time.Second

// dsnForms is appended to every complaint about a DSN.
const dsnForms = "postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db or sqlite:PATH"

// database holds the flags that choose the tokens table.
type database struct {
	dsn   string
	table string
}

func (d *database) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dsn, "dsn", "", "the `DSN` of the database: "+dsnForms+" (default $"+envDSN+")")
	fs.StringVar(&d.table, "table", sqlstore.DefaultTable, "the tokens `table`, as sqlstore.Options.Table")
}

// open connects to the database and returns it with the tokens store.
// Unless create is set, a SQLite file must exist already: opening a
// mistyped path would otherwise create an empty database.
func (d *database) open(ctx context.Context, create bool) (*sql.DB, *sqlstore.Store, error) {
	dsn := d.dsn
	if dsn == "" {
		dsn = os.Getenv(envDSN)
	}
	if dsn == "" {
		return nil, nil, usagef("no database given: pass --dsn or set %s (forms: %s)", envDSN, dsnForms)
	}
	_, source, dialect, err := sqlstore.ParseDSN(dsn)
	if err != nil {
		return nil, nil, usagef("--dsn: %v", err)
	}
	if dialect == sqlstore.SQLite && !create {
		if path, ok := sqliteFile(source); ok {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("database file %s does not exist; check --dsn, or create it with tokenauth migrate", path)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	db, store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Table: d.table})
	switch {
	case errors.Is(err, tokenauth.ErrInvalidOptions):
		return nil, nil, usagef("--table: %v", err)
	case err != nil:
		return nil, nil, fmt.Errorf("%w; check --dsn (or %s) and that the database server is reachable", err, envDSN)
	}
	return db, store, nil
}

// sqliteFile returns the file path of a modernc.org/sqlite data source as
// sqlstore.ParseDSN writes it (file:PATH?params), and false for an
// in-memory database.
func sqliteFile(source string) (string, bool) {
	path, query, _ := strings.Cut(strings.TrimPrefix(source, "file:"), "?")
	if path == ":memory:" || strings.Contains(query, "mode=memory") {
		return "", false
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	return path, true
}

// openSource opens a database to read from (import-drf's --from).
func openSource(ctx context.Context, dsn string) (*sql.DB, error) {
	driver, source, dialect, err := sqlstore.ParseDSN(dsn)
	if err != nil {
		return nil, usagef("--from: %v", err)
	}
	if dialect == sqlstore.SQLite {
		if path, ok := sqliteFile(source); ok {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--from: database file %s does not exist; check the path", path)
			}
		}
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("--from: %w; check the DSN and that the database server is reachable", err)
	}
	return db, nil
}

// minHMACKeyLen is the shortest key tokenauth.NewHMAC accepts.
const minHMACKeyLen = 32

// defaultPrefix is the token prefix of a service that sets no
// tokenauth.Options.Prefix.
const defaultPrefix = "tka"

// serviceHasher returns the Hasher the service uses: HMAC-SHA256 with the
// key in $TOKENAUTH_HMAC_KEY, or SHA-256 without one. The key is read from
// the environment only: on the command line it would show in ps and the
// shell's history. It is taken as hex if it is all hex digits, else as
// base64 (standard or URL alphabet, padded or not). Errors never quote it.
func serviceHasher() (tokenauth.Hasher, error) {
	s := strings.TrimSpace(os.Getenv(envHMACKey))
	if s == "" {
		return tokenauth.SHA256, nil
	}
	key, ok := decodeKey(s)
	switch {
	case !ok:
		return nil, usagef("%s must be hex or base64; generate a key with: openssl rand -hex %d", envHMACKey, minHMACKeyLen)
	case len(key) < minHMACKeyLen:
		return nil, usagef("%s holds %d bytes, need at least %d; generate a key with: openssl rand -hex %d",
			envHMACKey, len(key), minHMACKeyLen, minHMACKeyLen)
	}
	return tokenauth.NewHMAC(key)
}

// decodeKey decodes a key given as hex or base64.
func decodeKey(s string) ([]byte, bool) {
	if strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		key, err := hex.DecodeString(s)
		return key, err == nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			return key, true
		}
	}
	return nil, false
}

// dbFailure adds advice to the error of a failed query: create the table
// if the database says it is missing, else check the database.
func dbFailure(err error) error {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") || strings.Contains(msg, "doesn't exist") {
		return fmt.Errorf("%w; create the table with tokenauth migrate (with the same --dsn and --table)", err)
	}
	return fmt.Errorf("%w; check that the database is reachable and the table is the service's (--table), then run the command again", err)
}
