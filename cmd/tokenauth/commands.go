package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

var cmdMigrate = &command{
	name:    "migrate",
	summary: "Create the tokens table and its indexes if they do not exist.",
	details: "It is safe to run again, and from several processes at once. A SQLite file is\n" +
		"created if it does not exist.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var db database
		db.register(fs)
		return func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			conn, store, err := db.open(ctx, true)
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := store.Migrate(ctx); err != nil {
				return err
			}
			out.printf("Table %s is ready.\n", db.table)
			return nil
		}
	},
}

var cmdCreate = &command{
	name:    "create",
	args:    "--user ID [--name N] [--scope S]... [--ttl D]",
	summary: "Issue a token to a user and print it.",
	details: "The token is printed once: the database keeps only its digest. The user ID is\n" +
		"not checked: it is whatever the service's users table calls the user.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var (
			db     database
			hmac   hmacFlag
			scopes scopeList
			user   = fs.String("user", "", "the `ID` of the user, as the service's UserLoader knows it (required)")
			name   = fs.String("name", "cli", "what the token is for, shown by list")
			ttl    = fs.Duration("ttl", 0, "the token's `lifetime`, as in 720h; 0 means it never expires")
			prefix = fs.String("prefix", defaultPrefix, "the token prefix the service is configured with (tokenauth.Options.Prefix)")
			quiet  = fs.Bool("quiet", false, "print the token alone, for scripts: TOKEN=$(tokenauth create --user 42 --quiet)")
		)
		db.register(fs)
		hmac.register(fs)
		fs.Var(&scopes, "scope", "a `scope` the token carries; repeat for several")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q; the user is given with --user ID", args[0])
			case *user == "":
				return usagef("--user is required: the ID of the user to issue the token to")
			case *ttl < 0:
				return usagef("--ttl must not be negative; use 0 for a token that never expires")
			}
			hasher, err := hmac.hasher()
			if err != nil {
				return err
			}
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()
			auth, err := tokenauth.New(store, tokenauth.Options{Prefix: *prefix, Hasher: hasher, Logger: discardLogger})
			if err != nil {
				return usagef("--prefix: %v", err)
			}
			key, t, err := auth.Issue(ctx, *user, tokenauth.IssueOptions{Name: *name, Scopes: scopes, TTL: *ttl})
			switch {
			case errors.Is(err, sqlstore.ErrInvalidRecord):
				return usagef("%v", err)
			case err != nil:
				return dbFailure(err)
			}
			if *quiet {
				out.printf("%s\n", key)
				return nil
			}
			out.printf("Generated token %s for user %s\n", key, printable(t.UserID))
			out.printf("ID:      %s\nName:    %s\nScopes:  %s\nExpires: %s\n",
				t.ID, orDash(printable(t.Name)), orDash(printable(strings.Join(t.Scopes, ","))), formatTime(t.ExpiresAt, "never"))
			out.progressf("The token is shown only now; keep it somewhere safe.\n")
			return nil
		}
	},
}

var cmdList = &command{
	name:    "list",
	args:    "--user ID",
	summary: "List a user's tokens, never their secrets.",
	details: "Shows each token's ID (what revoke takes), name, scopes, creation, expiry, the\n" +
		"absolute deadline no use moves the expiry past (MAX EXPIRES) and last use.\n" +
		"Neither tokens nor digests are ever shown.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var db database
		user := fs.String("user", "", "the `ID` of the user (required)")
		db.register(fs)
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q; the user is given with --user ID", args[0])
			case *user == "":
				return usagef("--user is required: the ID of the user whose tokens to list")
			}
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()
			tokens, err := store.List(ctx, *user)
			if err != nil {
				return dbFailure(err)
			}
			if len(tokens) == 0 {
				out.printf("User %s has no tokens.\n", printable(*user))
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(out.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tEXPIRES\tMAX EXPIRES\tLAST USED")
			for _, t := range tokens {
				expires := formatTime(t.ExpiresAt, "never")
				if t.Expired(now) {
					expires += " (expired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(t.ID), orDash(printable(t.Name)),
					orDash(printable(strings.Join(t.Scopes, ","))), formatTime(t.CreatedAt, "-"),
					expires, formatTime(t.MaxExpiresAt, "-"), formatTime(t.LastUsedAt, "never"))
			}
			return tw.Flush()
		}
	},
}

var cmdRevoke = &command{
	name:    "revoke",
	args:    "ID | --user ID",
	summary: "Revoke a token by its ID, or every token of a user.",
	details: "The token ID is the one list shows. Clients using a revoked token get 401;\n" +
		"services that cache tokens (cachestore) hear of it through the database's\n" +
		"triggers: at once on PostgreSQL when the service listens (pglisten), within\n" +
		"the poll interval on MySQL and SQLite, and within the cache TTL otherwise.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var db database
		user := fs.String("user", "", "revoke every token of the user with this `ID`")
		db.register(fs)
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 1:
				return usagef("give one token ID; to revoke all of a user's tokens use --user ID")
			case len(args) == 1 && *user != "":
				return usagef("give a token ID or --user, not both")
			case len(args) == 0 && *user == "":
				return usagef("give the ID of the token to revoke (see tokenauth list --user ID), or --user ID for all of a user's tokens")
			case len(args) == 1 && args[0] == "":
				return usagef("the token ID is empty")
			}
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()
			if *user != "" {
				n, err := store.DeleteUser(ctx, *user)
				if err != nil {
					return dbFailure(err)
				}
				out.printf("Revoked %s of user %s.\n", plural(n, "token"), printable(*user))
				return nil
			}
			switch err := store.Delete(ctx, args[0]); {
			case errors.Is(err, tokenauth.ErrNotFound):
				return fmt.Errorf("no token has ID %s; list a user's tokens and their IDs with tokenauth list --user ID", printable(args[0]))
			case err != nil:
				return dbFailure(err)
			}
			out.printf("Revoked token %s.\n", printable(args[0]))
			return nil
		}
	},
}

var cmdPurgeExpired = &command{
	name:    "purge-expired",
	summary: "Delete the tokens whose expiry has passed.",
	details: "Expired tokens are refused anyway; purging keeps the table small. Run it from\n" +
		"cron or a scheduled job.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var db database
		db.register(fs)
		return func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()
			start := time.Now()
			out.progressf("Deleting tokens of table %s that expired before %s…\n", db.table, formatTime(start, ""))
			n, err := store.DeleteExpired(ctx, start)
			if err != nil {
				return dbFailure(err)
			}
			out.printf("Purged %s in %s.\n", plural(n, "expired token"), time.Since(start).Round(time.Millisecond))
			return nil
		}
	},
}

var cmdImportDRF = &command{
	name:    "import-drf",
	args:    "--from DSN [--drf-table T] [--key-column C] [--user-column C] [--created-column C|-] [--name N] [--scope S]...",
	summary: "Import the tokens of Django REST Framework's authtoken_token table, or of a table like it.",
	details: "Each key is stored as a digest, with its user ID and creation time, so that\n" +
		"clients keep their tokens. DRF's 40-hex keys need tokenauth.Options.AcceptLegacyKeys\n" +
		"in the service, UUID keys (a custom token model) AcceptUUIDKeys. Keys already\n" +
		"imported are skipped, so an interrupted import can be run again. Progress goes\n" +
		"to stderr.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var (
			db       database
			hmac     hmacFlag
			scopes   scopeList
			from     = fs.String("from", "", "the `DSN` of the Django database: "+dsnForms+" (required)")
			drfTable = fs.String("drf-table", sqlstore.DefaultDRFTable, "DRF's token `table` in that database, optionally schema.table")
			keyCol   = fs.String("key-column", "key", "the `column` holding the keys")
			userCol  = fs.String("user-column", "user_id", "the `column` holding the user IDs")
			created  = fs.String("created-column", "created", "the `column` holding creation times, or - if there is none")
			name     = fs.String("name", "drf", "the name given to imported tokens")
			every    = fs.Int("progress", 1000, "report progress every `N` rows")
		)
		db.register(fs)
		hmac.register(fs)
		fs.Var(&scopes, "scope", "a `scope` given to every imported token; repeat for several")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q; the source database is given with --from DSN", args[0])
			case *from == "":
				return usagef("--from is required: the DSN of the Django database (forms: %s)", dsnForms)
			case *every <= 0:
				return usagef("--progress must be positive")
			}
			hasher, err := hmac.hasher()
			if err != nil {
				return err
			}
			src, err := openSource(ctx, *from)
			if err != nil {
				return err
			}
			defer src.Close()
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()

			start := time.Now()
			out.progressf("Importing %s into %s…\n", *drfTable, db.table)
			auth, err := tokenauth.New(store, tokenauth.Options{Hasher: hasher, AcceptLegacyKeys: true, AcceptUUIDKeys: true, Logger: discardLogger})
			if err != nil {
				return err
			}
			res, err := sqlstore.Import(ctx, src, auth, sqlstore.ImportOptions{
				Table:         *drfTable,
				KeyColumn:     *keyCol,
				UserColumn:    *userCol,
				CreatedColumn: *created,
				Name:          *name,
				Scopes:        scopes,
				ProgressEvery: *every,
				Progress: func(r sqlstore.ImportResult) {
					rows := r.Imported + r.Skipped + r.Invalid
					rate := float64(rows) / max(time.Since(start).Seconds(), 1e-3)
					out.progressf("  %d rows: %d imported, %d skipped, %d invalid (%.0f rows/s)\n",
						rows, r.Imported, r.Skipped, r.Invalid, rate)
				},
			})
			summary := fmt.Sprintf("%d imported, %d skipped (already imported), %d invalid (not a DRF or UUID key, or no user)",
				res.Imported, res.Skipped, res.Invalid)
			switch {
			case errors.Is(err, tokenauth.ErrInvalidOptions):
				return usagef("%v", err)
			case ctx.Err() != nil:
				return fmt.Errorf("interrupted after %s; run the same command again to finish: imported keys are skipped", summary)
			case err != nil:
				return fmt.Errorf("%w\nbefore the failure: %s\ncheck --from and --drf-table (the source), --dsn and --table (the destination), "+
					"then run the same command again: imported keys are skipped", err, summary)
			}
			out.printf("Imported DRF tokens in %s: %s.\n", time.Since(start).Round(time.Millisecond), summary)
			if res.Imported > 0 {
				out.progressf("They authenticate once the service sets tokenauth.Options{AcceptLegacyKeys: true}.\n")
			}
			return nil
		}
	},
}

// discardLogger keeps the Authenticator quiet: the commands report store
// failures themselves.
var discardLogger = slog.New(slog.DiscardHandler)

// scopeList is a repeatable --scope flag.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, ",") }

func (s *scopeList) Set(v string) error {
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return errors.New("a scope must be non-empty, without spaces or commas; repeat --scope for several")
	}
	*s = append(*s, v)
	return nil
}

// formatTime writes t in UTC to the second, or zero for the zero time.
func formatTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable quotes s if it holds characters that a terminal would
// interpret or that would break a table column.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
