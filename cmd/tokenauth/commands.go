package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime/debug"
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
	summary: "Create or upgrade the tokens table and the tables beside it.",
	details: "It is safe to run again, and from several processes at once. A SQLite file is\n" +
		"created if it does not exist. Upgrading from before v0.1.0, tokens with an\n" +
		"expiry but no absolute deadline get their current expiry as deadline, so that\n" +
		"an idle timeout no longer slides them forever; it says how many, and how many\n" +
		"tokens never expire.",
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
			rep, err := store.MigrateReport(ctx)
			if err != nil {
				return err
			}
			out.printf("Table %s is ready.\n", db.table)
			if len(rep.AddedColumns) > 0 {
				out.printf("Added columns: %s.\n", strings.Join(rep.AddedColumns, ", "))
			}
			if rep.Backfilled > 0 {
				out.printf("Backfilled the absolute deadline of %s from before it existed: each now expires at its current expiry, no later.\n",
					plural(rep.Backfilled, "token"))
			}
			switch rep.NeverExpire {
			case 0:
			case 1:
				out.printf("1 token never expires: only revoking ends it (tokenauth list, tokenauth revoke).\n")
			default:
				out.printf("%d tokens never expire: only revoking ends them (tokenauth list, tokenauth revoke).\n", rep.NeverExpire)
			}
			return nil
		}
	},
}

var cmdCreate = &command{
	name:    "create",
	args:    "--user ID [--personal] [--name N] [--scope S]... [--ttl D] [constraints]",
	summary: "Issue a token to a user and print it.",
	details: "The token is printed once: the database keeps only its digest. The user ID is\n" +
		"not checked: it is whatever the service's users table calls the user. With\n" +
		"--personal it is a personal access token, for a script or CI, which revoking\n" +
		"a user's sessions at a password change spares. Constraints are checked on\n" +
		"every request: --allow-ip and --deny-ip (CIDR ranges or addresses, IPv4 or\n" +
		"IPv6, repeated), --not-before, and --rate-limit N per --rate-window D.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var (
			db     database
			scopes scopeList
			user   = fs.String("user", "", "the `ID` of the user, as the service's UserLoader knows it (required)")
			name   = fs.String("name", "cli", "what the token is for, shown by list")
			ttl    = fs.Duration("ttl", 0, "the token's `lifetime`, as in 720h; 0 means it never expires")
			prefix = fs.String("prefix", defaultPrefix, "the token prefix the service is configured with (tokenauth.Options.Prefix)")
			quiet  = fs.Bool("quiet", false, "print the token alone, for scripts: TOKEN=$(tokenauth create --user 42 --quiet)")
			// Constraints.
			personal        = fs.Bool("personal", false, "make a personal access token (for a script or CI) rather than a session")
			allowed, denied prefixList
			notBefore       timeFlag
			rateLimit       = fs.Int("rate-limit", 0, "at most `N` requests per --rate-window; 0 means no limit")
			rateWindow      = fs.Duration("rate-window", 0, "the `window` --rate-limit counts in, as in 1m")
		)
		db.register(fs)
		fs.Var(&scopes, "scope", "a `scope` the token carries; repeat for several")
		fs.Var(&allowed, "allow-ip", "a `range` (CIDR, or one address) the token works from, and no other; repeat for several")
		fs.Var(&denied, "deny-ip", "a `range` (CIDR, or one address) the token never works from; repeat for several")
		fs.Var(&notBefore, "not-before", "the `time` (RFC 3339, as in 2026-01-02T15:04:05Z) the token starts working")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q; the user is given with --user ID", args[0])
			case *user == "":
				return usagef("--user is required: the ID of the user to issue the token to")
			case *ttl < 0:
				return usagef("--ttl must not be negative; use 0 for a token that never expires")
			case *rateLimit < 0 || *rateWindow < 0:
				return usagef("--rate-limit and --rate-window must not be negative")
			case *rateLimit > 0 && *rateWindow == 0:
				return usagef("--rate-limit needs --rate-window, as in --rate-limit 100 --rate-window 1m")
			case *rateLimit == 0 && *rateWindow != 0:
				return usagef("--rate-window needs --rate-limit")
			case !notBefore.t.IsZero() && *ttl > 0 && !notBefore.t.Before(time.Now().Add(*ttl)):
				return usagef("--not-before must come before the token expires (--ttl)")
			}
			hasher, err := serviceHasher()
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
			key, t, err := auth.Issue(ctx, *user, tokenauth.IssueOptions{
				Name: *name, Scopes: scopes, TTL: *ttl, Personal: *personal, NotBefore: notBefore.t,
				AllowedIPs: allowed, DeniedIPs: denied, RateLimit: *rateLimit, RateWindow: *rateWindow,
			})
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
			out.printf("ID:      %s\nKind:    %s\nName:    %s\nScopes:  %s\nExpires: %s\n",
				t.ID, kind(t), orDash(printable(t.Name)), orDash(printable(strings.Join(t.Scopes, ","))), formatTime(t.ExpiresAt, "never"))
			if c := constraints(t); c != "-" {
				out.printf("Limits:  %s\n", c)
			}
			out.progressf("The token is shown only now; keep it somewhere safe.\n")
			return nil
		}
	},
}

var cmdList = &command{
	name:    "list",
	args:    "--user ID",
	summary: "List a user's tokens, never their secrets.",
	details: "Shows each token's ID (what revoke takes), kind (session or personal), name,\n" +
		"scopes, creation, expiry, the absolute deadline no use moves the expiry past\n" +
		"(MAX EXPIRES), last use, and constraints (LIMITS). Neither tokens nor digests\n" +
		"are ever shown.",
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
			fmt.Fprintln(tw, "ID\tKIND\tNAME\tSCOPES\tCREATED\tEXPIRES\tMAX EXPIRES\tLAST USED\tLIMITS")
			for _, t := range tokens {
				expires := formatTime(t.ExpiresAt, "never")
				if t.Expired(now) {
					expires += " (expired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(t.ID), kind(t), orDash(printable(t.Name)),
					orDash(printable(strings.Join(t.Scopes, ","))), formatTime(t.CreatedAt, "-"),
					expires, formatTime(t.MaxExpiresAt, "-"), formatTime(t.LastUsedAt, "never"), constraints(t))
			}
			return tw.Flush()
		}
	},
}

var cmdRevoke = &command{
	name:    "revoke",
	args:    "ID | --user ID | --key -",
	summary: "Revoke a token by its ID, every token of a user, or a leaked token.",
	details: "The token ID is the one list shows. --user revokes all of a user's tokens, and\n" +
		"those of logins in flight, as tokenauth's RevokeAll does. --key - reads a token\n" +
		"itself from stdin (never from the command line, where ps and the shell's history\n" +
		"would keep it) and revokes it, whoever holds it: for a token found in a log or a\n" +
		"repository. Revoking what is already gone says so and succeeds. Clients using a\n" +
		"revoked token get 401; services that cache tokens (cachestore) hear of it\n" +
		"through the database's triggers: within milliseconds on PostgreSQL with\n" +
		"pglisten, within the poll interval (250 ms) otherwise.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var db database
		user := fs.String("user", "", "revoke every token of the user with this `ID`")
		key := fs.String("key", "", "give `-` to read a token from stdin and revoke it")
		db.register(fs)
		return func(ctx context.Context, args []string) error {
			given := 0
			for _, set := range []bool{len(args) > 0, *user != "", *key != ""} {
				if set {
					given++
				}
			}
			switch {
			case *key != "" && *key != "-":
				// Not quoted: it may be the token.
				return usagef("--key takes only -, and reads the token from stdin: on the command line ps and the shell's history keep it")
			case len(args) > 0 && looksLikeToken(args[0]):
				return usagef("that argument is longer than any token ID: if it is a token, give it on stdin with --key -, never on the command line")
			case len(args) > 1:
				return usagef("give one token ID; to revoke all of a user's tokens use --user ID")
			case given > 1:
				return usagef("give a token ID, --user ID or --key -, only one")
			case given == 0:
				return usagef("give the ID of the token to revoke (see tokenauth list --user ID), --user ID for all of a user's tokens, or --key - to read a token from stdin")
			case len(args) == 1 && args[0] == "":
				return usagef("the token ID is empty")
			}
			var hasher tokenauth.Hasher
			var plain string
			if *key == "-" {
				var err error
				if hasher, err = serviceHasher(); err != nil {
					return err
				}
				if plain, err = readToken(out); err != nil {
					return err
				}
			}
			conn, store, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer conn.Close()
			switch {
			case *user != "":
				auth, err := tokenauth.New(store, tokenauth.Options{Logger: discardLogger})
				if err != nil {
					return err
				}
				n, err := auth.RevokeAll(ctx, *user)
				if err != nil {
					return dbFailure(err)
				}
				out.printf("Revoked %s of user %s; logins begun before now are refused too.\n", plural(n, "token"), printable(*user))
				return nil
			case plain != "":
				return revokeKey(ctx, out, store, hasher.Digest(plain))
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

// maxTokenLen bounds what revoke --key reads: tokens are under 100 bytes.
const maxTokenLen = 1024

// readToken reads one token from stdin. It prompts on stderr when stdin is
// a terminal.
func readToken(out *output) (string, error) {
	if f, ok := out.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			out.progressf("Paste the token, then Enter: ")
		}
	}
	b, err := io.ReadAll(io.LimitReader(out.stdin, maxTokenLen+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading the token from stdin: %w", err)
	case len(b) > maxTokenLen:
		return "", usagef("stdin holds more than %d bytes: give one token", maxTokenLen)
	}
	key := strings.TrimSpace(string(b))
	switch {
	case key == "":
		return "", usagef("stdin holds no token: pipe it in, as in tokenauth revoke --key - < leaked.txt")
	case strings.ContainsAny(key, " \t\r\n"):
		return "", usagef("stdin holds more than one word: give one token")
	}
	return key, nil
}

// revokeKey deletes the token with the given digest, if it is stored.
func revokeKey(ctx context.Context, out *output, store *sqlstore.Store, digest []byte) error {
	t, err := store.Find(ctx, digest)
	if err == nil {
		err = store.Delete(ctx, t.ID)
	}
	switch {
	case errors.Is(err, tokenauth.ErrNotFound):
		out.printf("No stored token has this key: it is revoked already, or it is not a token of this service "+
			"(check --table, and %s if the service uses HMAC).\n", envHMACKey)
		return nil
	case err != nil:
		return dbFailure(err)
	}
	out.printf("Revoked token %s of user %s.\n", printable(t.ID), printable(t.UserID))
	return nil
}

// looksLikeToken reports whether a revoke argument is too long to be a
// token ID (22 characters): it may be a token, which must not be given
// on the command line, nor be echoed.
func looksLikeToken(arg string) bool { return len(arg) > 30 }

var cmdVersion = &command{
	name:    "version",
	summary: "Print the version of tokenauth.",
	details: "The module version it was built from (go install …@v0.1.0), or (devel) when built\n" +
		"from a checkout.",
	setup: func(_ *flag.FlagSet, out *output) func(context.Context, []string) error {
		return func(_ context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			out.printf("tokenauth %s\n", version())
			return nil
		}
	},
}

// version returns the module version the binary was built from, or
// "(devel)".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
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
	name: "import-drf",
	args: "--from DSN [--drf-table T] [--key-column C] [--user-column C] [--created-column C|-]\n" +
		"        [--users-table T|-] [--active-column C] [--include-inactive] [--name N] [--scope S]...",
	summary: "Import the tokens of Django REST Framework's authtoken_token table, or of a table like it.",
	details: "Each key is stored as a digest, with its user ID and creation time, so that\n" +
		"clients keep their tokens. DRF's 40-hex keys need tokenauth.Options.AcceptLegacyKeys\n" +
		"in the service, UUID keys (a custom token model) AcceptUUIDKeys.\n" +
		"The keys of users who are inactive in Django (auth_user.is_active false, or no\n" +
		"such user) are skipped unless --include-inactive; with a custom user model, name\n" +
		"its table with --users-table. Each imported key is recorded, and never imported\n" +
		"again: an import run twice, or after a key was revoked here, skips it. Progress\n" +
		"goes to stderr.",
	setup: func(fs *flag.FlagSet, out *output) func(context.Context, []string) error {
		var (
			db       database
			scopes   scopeList
			from     = fs.String("from", "", "the `DSN` of the Django database: "+dsnForms+" (required)")
			drfTable = fs.String("drf-table", sqlstore.DefaultDRFTable, "DRF's token `table` in that database, optionally schema.table")
			keyCol   = fs.String("key-column", "key", "the `column` holding the keys")
			userCol  = fs.String("user-column", "user_id", "the `column` holding the user IDs")
			created  = fs.String("created-column", "created", "the `column` holding creation times, or - if there is none")
			users    = fs.String("users-table", sqlstore.DefaultUsersTable, "the Django users `table` (AUTH_USER_MODEL's), joined on its id;\n"+
				"- imports every key without checking its user")
			active   = fs.String("active-column", "is_active", "the users table's `column` saying whether a user may log in")
			inactive = fs.Bool("include-inactive", false, "import the keys of inactive users too")
			name     = fs.String("name", "drf", "the name given to imported tokens")
			every    = fs.Int("progress", 1000, "report progress every `N` rows")
		)
		db.register(fs)
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
			hasher, err := serviceHasher()
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
			if *users == "-" && !*inactive {
				out.progressf("Warning: --users-table -: users are not checked, so the keys of inactive Django users are imported too.\n")
			}
			out.progressf("Importing %s into %s…\n", *drfTable, db.table)
			auth, err := tokenauth.New(store, tokenauth.Options{Hasher: hasher, AcceptLegacyKeys: true, AcceptUUIDKeys: true, Logger: discardLogger})
			if err != nil {
				return err
			}
			res, err := store.Import(ctx, src, auth, sqlstore.ImportOptions{
				Table:           *drfTable,
				KeyColumn:       *keyCol,
				UserColumn:      *userCol,
				CreatedColumn:   *created,
				UsersTable:      *users,
				ActiveColumn:    *active,
				IncludeInactive: *inactive,
				Name:            *name,
				Scopes:          scopes,
				ProgressEvery:   *every,
				Progress: func(r sqlstore.ImportResult) {
					rows := r.Imported + r.Skipped + r.Inactive + r.Revoked + r.Invalid
					rate := float64(rows) / max(time.Since(start).Seconds(), 1e-3)
					out.progressf("  %d rows: %d imported, %d skipped (%d already imported, %d of inactive users, %d revoked), %d invalid (%.0f rows/s)\n",
						rows, r.Imported, r.Skipped+r.Inactive+r.Revoked, r.Skipped, r.Inactive, r.Revoked, r.Invalid, rate)
				},
			})
			summary := importSummary(res)
			switch {
			case errors.Is(err, tokenauth.ErrInvalidOptions):
				return usagef("%v", err)
			case ctx.Err() != nil:
				return fmt.Errorf("interrupted after %s; run the same command again to finish: imported keys are skipped", summary)
			case err != nil && *users != "-" && !*inactive && mentions(err, *users):
				return fmt.Errorf("%w\nthe keys' users are looked up in %s: name the users table of a custom user model with --users-table, "+
					"or give --users-table - to import without the check", err, *users)
			case err != nil:
				return fmt.Errorf("%w\nbefore the failure: %s\ncheck --from and --drf-table (the source), --dsn and --table (the destination), "+
					"then run the same command again: imported keys are skipped", dbFailure(err), summary)
			}
			out.printf("Imported DRF tokens in %s: %s.\n", time.Since(start).Round(time.Millisecond), summary)
			if res.Imported > 0 {
				out.progressf("They authenticate once the service sets tokenauth.Options{AcceptLegacyKeys: true}.\n")
			}
			return nil
		}
	},
}

// importSummary says what an import did, for the operator.
func importSummary(r sqlstore.ImportResult) string {
	inactive := "of inactive users"
	if r.Inactive > 0 {
		inactive += " (--include-inactive imports them)"
	}
	return fmt.Sprintf("%d imported, %d skipped: %d already imported (revoked ones stay revoked), %d %s, %d revoked here after the key was made; "+
		"%d invalid (not a DRF or UUID key, or no user)",
		r.Imported, r.Skipped+r.Inactive+r.Revoked, r.Skipped, r.Inactive, inactive, r.Revoked, r.Invalid)
}

// mentions reports whether err's text names the table, as databases do
// when it is missing.
func mentions(err error, table string) bool {
	_, name, _ := strings.Cut(table, ".")
	if name == "" {
		name = table
	}
	return strings.Contains(err.Error(), name)
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

// prefixList is a repeated --allow-ip or --deny-ip: CIDR ranges or single
// addresses.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		ip, aerr := netip.ParseAddr(v)
		if aerr != nil || ip.Zone() != "" {
			return errors.New("want a CIDR range, as in 192.0.2.0/24 or 2001:db8::/32, or one address")
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	*l = append(*l, p.Masked())
	return nil
}

// timeFlag is an RFC 3339 time.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string { return formatTime(f.t, "") }

func (f *timeFlag) Set(v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return errors.New("want an RFC 3339 time, as in 2026-01-02T15:04:05Z")
	}
	f.t = t
	return nil
}

// kind names what a token was made for.
func kind(t *tokenauth.Token) string {
	if t.Personal {
		return "personal"
	}
	return "session"
}

// constraints sums up a token's constraints on one line, "-" for none.
func constraints(t *tokenauth.Token) string {
	var parts []string
	if !t.NotBefore.IsZero() {
		parts = append(parts, "from "+formatTime(t.NotBefore, ""))
	}
	if len(t.AllowedIPs) > 0 {
		parts = append(parts, "allow "+(*prefixList)(&t.AllowedIPs).String())
	}
	if len(t.DeniedIPs) > 0 {
		parts = append(parts, "deny "+(*prefixList)(&t.DeniedIPs).String())
	}
	if t.RateLimit > 0 {
		parts = append(parts, fmt.Sprintf("%d per %s", t.RateLimit, t.RateWindow))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
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
