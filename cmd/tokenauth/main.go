// Command tokenauth administers the tokens of a service that uses
// github.com/go-tokenauth/tokenauth with a SQL store: the counterpart of
// Django REST Framework's drf_create_token, for operators.
//
//	tokenauth migrate
//	tokenauth create --user ID [--personal] [--name N] [--scope S]... [--ttl D]
//	                 [--allow-ip R]... [--deny-ip R]... [--not-before T]
//	                 [--rate-limit N --rate-window D]
//	tokenauth list --user ID
//	tokenauth revoke ID | --user ID | --key - (the token on stdin)
//	tokenauth purge-expired
//	tokenauth import-drf --from DSN
//	tokenauth version
//
// The database is chosen by --dsn or $TOKENAUTH_DSN: postgres://…,
// mysql://… or sqlite:PATH. Services that digest tokens with HMAC give
// their key in $TOKENAUTH_HMAC_KEY, never on the command line. Exit
// status: 0 on success, 1 on failure, 2 for a bad command line. Run
// tokenauth help for details.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is a subcommand.
type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string // one line
	details string // more, for the command's help
	// setup registers the command's flags and returns the function that
	// runs it once they are parsed, with the positional arguments.
	setup func(fs *flag.FlagSet, out *output) func(ctx context.Context, args []string) error
}

// commands lists the subcommands in the order help shows them.
var commands = []*command{
	cmdMigrate,
	cmdCreate,
	cmdList,
	cmdRevoke,
	cmdPurgeExpired,
	cmdImportDRF,
	cmdVersion,
}

// output is where a command reads and writes: secrets from stdin, results
// to stdout, progress and errors to stderr.
type output struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (o *output) printf(format string, args ...any) { fmt.Fprintf(o.stdout, format, args...) }

func (o *output) progressf(format string, args ...any) { fmt.Fprintf(o.stderr, format, args...) }

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is the whole program, for tests: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &output{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) == 0 {
			printUsage(stdout)
			return exitOK
		}
		cmd := lookup(args[0])
		if cmd == nil {
			fmt.Fprintf(stderr, "tokenauth: unknown command %q; see 'tokenauth help'\n", args[0])
			return exitUsage
		}
		fs, _ := newFlagSet(cmd, out)
		printCommandUsage(stdout, cmd, fs)
		return exitOK
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "tokenauth: unknown command %q; see 'tokenauth help'\n", name)
		return exitUsage
	}
	fs, runCmd := newFlagSet(cmd, out)
	positional, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printCommandUsage(stdout, cmd, fs)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "tokenauth: %s; see 'tokenauth help %s'\n", flagError(err), cmd.name)
		return exitUsage
	}
	err = runCmd(ctx, positional)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tokenauth %s: %s; see 'tokenauth help %s'\n", cmd.name, ue.msg, cmd.name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "tokenauth %s: %v\n", cmd.name, err)
		return exitFailure
	}
}

// flagError rewords the flag package's parse errors, which never quote a
// flag's value for the string flags that may carry a secret.
func flagError(err error) string {
	msg := err.Error()
	name, undefined := strings.CutPrefix(msg, "flag provided but not defined: ")
	switch {
	case !undefined:
		return msg
	case strings.TrimLeft(name, "-") == "hmac-key":
		return "--hmac-key is gone: a key on the command line shows in ps and the shell's history; set " + envHMACKey + " instead"
	}
	return "unknown flag " + name
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// newFlagSet returns cmd's flag set, which prints nothing (run reports its
// errors in one line), and the function that runs cmd.
func newFlagSet(cmd *command, out *output) (*flag.FlagSet, func(context.Context, []string) error) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, cmd.setup(fs, out)
}

// printCommandUsage writes cmd's help: synopsis, description and flags.
func printCommandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n%s\n", strings.TrimSpace("tokenauth "+cmd.name+" "+cmd.args), cmd.summary, cmd.details)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments (tokenauth revoke ID --dsn …), and returns the
// positional ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if len(rest) == 0 || consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `tokenauth administers API tokens stored by github.com/go-tokenauth/tokenauth.

Usage: tokenauth <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Every command but version takes --dsn, the database (default $%s):
  postgres://user:pass@host:5432/db?sslmode=disable
  mysql://user:pass@host:3306/db       (or user:pass@tcp(host:3306)/db)
  sqlite:PATH                          (a file such as the quickstart's quickstart.db)
If the service digests tokens with HMAC (tokenauth.NewHMAC), create, revoke
--key and import-drf need its key in $%s, hex or base64; never
on the command line.

Exit status: 0 success, 1 failure, 2 bad command line.
Run tokenauth help <command> for a command's flags.
`, envDSN, envHMACKey)
}
