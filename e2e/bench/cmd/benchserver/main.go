// Command benchserver serves one server of tokenauth's load test on
// loopback: it seeds the tokens, writes a sample of their keys to a file
// for the load generator (as Authorization header values: "Token <key>",
// "Bearer <jwt>" for jwtauth), prints "ready URL" on standard output once it
// listens, and serves until SIGINT or SIGTERM, when it removes what it
// seeded. run.sh drives it.
//
//	benchserver -mode memstore -tokens 1000000 -keys /tmp/keys.txt
//
// With -check URL it serves nothing: it checks the server of -mode at URL
// with the first key of -keys and exits non-zero if the answers are wrong.
// With -list it prints the modes run.sh runs by default. With -pprof ADDR
// it also serves net/http/pprof there, to profile a server under load:
//
//	go tool pprof 'http://ADDR/debug/pprof/profile?seconds=10'
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // for -pprof
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-tokenauth/tokenauth/e2e/bench"
)

func main() {
	// A server that run.sh starts in the background has SIGINT ignored, as
	// shells do for background jobs: Ctrl-C then stops the load generator
	// first, and run.sh stops the servers with SIGTERM.
	sigs := []os.Signal{syscall.SIGTERM}
	if !signal.Ignored(os.Interrupt) {
		sigs = append(sigs, os.Interrupt)
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchserver", flag.ContinueOnError)
	mode := fs.String("mode", "", "the server to run: "+modeNames())
	addr := fs.String("addr", "127.0.0.1:0", "`address` to listen on")
	tokens := fs.Int("tokens", 1000, "how many tokens to seed")
	sample := fs.Int("sample", 1000, "how many of the keys to write to -keys")
	keysFile := fs.String("keys", "", "`file` to write the sample keys to, one Authorization header value a line (with -check: to read the key from)")
	dsn := fs.String("dsn", os.Getenv("TOKENAUTH_TEST_POSTGRES_DSN"), "PostgreSQL `URL` for the postgres modes")
	redisAddr := fs.String("redis", os.Getenv("TOKENAUTH_TEST_REDIS_ADDR"), "Redis `host:port` for the redis modes")
	namespace := fs.String("namespace", "", "`name` of the PostgreSQL table or Redis key prefix the mode owns (default tokenauth_bench_MODE)")
	check := fs.String("check", "", "check the server at `URL` instead of serving")
	pprofAddr := fs.String("pprof", "", "also serve net/http/pprof on `address`, to profile the server under load")
	list := fs.Bool("list", false, "print the modes run.sh runs by default, one a line, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *list {
		for _, m := range bench.DefaultModes {
			fmt.Fprintln(stdout, m)
		}
		return nil
	}
	m, err := bench.ParseMode(*mode)
	if err != nil {
		return err
	}
	if *keysFile == "" {
		return errors.New("-keys is required")
	}
	if *check != "" {
		line, err := firstLine(*keysFile)
		if err != nil {
			return err
		}
		_, key, _ := strings.Cut(line, " ")
		client := &http.Client{Timeout: 10 * time.Second}
		return bench.Check(ctx, client, strings.TrimSuffix(*check, "/"), m, key)
	}

	start := time.Now()
	srv, err := bench.New(ctx, bench.Config{
		Mode: m, Tokens: *tokens, Sample: *sample,
		PostgresDSN: *dsn, RedisAddr: *redisAddr, Namespace: *namespace,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			slog.Error("benchserver: cleaning up", "mode", m, "error", err)
		}
	}()
	slog.Info("benchserver: seeded", "mode", m, "tokens", *tokens, "took", time.Since(start).Round(time.Millisecond))
	lines := make([]string, len(srv.Keys))
	for i, key := range srv.Keys {
		lines[i] = m.Scheme() + " " + key
	}
	if err := writeLines(*keysFile, lines); err != nil {
		return err
	}
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return err
		}
		// pprof's handlers are registered on http.DefaultServeMux.
		go func() { _ = http.Serve(ln, nil) }()
		defer ln.Close()
	}
	return serve(ctx, *addr, srv.Handler, stdout)
}

// serve listens on addr, prints "ready URL" and serves h until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "ready http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

func modeNames() string {
	names := make([]string, len(bench.Modes))
	for i, m := range bench.Modes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

func writeLines(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s is empty", path)
	}
	return sc.Text(), nil
}
