// Command tokenauth administers the tokens of a service that uses
// github.com/go-tokenauth/tokenauth with a SQL store: the counterpart of
// Django REST Framework's drf_create_token, for operators.
//
//	tokenauth migrate
//	tokenauth create --user ID [--name N] [--scope S]... [--ttl D]
//	tokenauth list --user ID
//	tokenauth revoke ID | --user ID
//	tokenauth purge-expired
//	tokenauth import-drf --from DSN
//
// The database is chosen by --dsn or $TOKENAUTH_DSN: postgres://…,
// mysql://… or sqlite:PATH. Services that digest tokens with HMAC pass
// their key with --hmac-key or $TOKENAUTH_HMAC_KEY. Exit status: 0 on
// success, 1 on failure, 2 for a bad command line. Run tokenauth help for
// details.
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
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
}

// output is where a command writes: results to stdout, progress and
// errors to stderr.
type output struct {
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
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &output{stdout: stdout, stderr: stderr}
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
			fmt.Fprintf(stderr, "tokenauth: unknown command %q; run tokenauth help for the list\n", args[0])
			return exitUsage
		}
		fs, _ := newFlagSet(cmd, out)
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "tokenauth: unknown command %q; run tokenauth help for the list\n", name)
		return exitUsage
	}
	fs, runCmd := newFlagSet(cmd, out)
	positional, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage // the flag package has printed the error and usage
	}
	err = runCmd(ctx, positional)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tokenauth %s: %s\nRun tokenauth help %s for usage.\n", cmd.name, ue.msg, cmd.name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "tokenauth %s: %v\n", cmd.name, err)
		return exitFailure
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// newFlagSet returns cmd's flag set, with its usage, and the function that
// runs cmd.
func newFlagSet(cmd *command, out *output) (*flag.FlagSet, func(context.Context, []string) error) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(out.stderr)
	runCmd := cmd.setup(fs, out)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n%s\n\nFlags:\n",
			strings.TrimSpace("tokenauth "+cmd.name+" "+cmd.args), cmd.summary, cmd.details)
		fs.PrintDefaults()
	}
	return fs, runCmd
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
Every command takes --dsn, the database (default $%s):
  postgres://user:pass@host:5432/db?sslmode=disable
  mysql://user:pass@host:3306/db       (or user:pass@tcp(host:3306)/db)
  sqlite:PATH                          (a file such as the quickstart's quickstart.db)
If the service digests tokens with HMAC, create and import-drf need its key:
--hmac-key or $%s, in hex.

Exit status: 0 success, 1 failure, 2 bad command line.
Run tokenauth help <command> for a command's flags.
`, envDSN, envHMACKey)
}
