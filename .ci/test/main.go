// Command test runs the repository's tests and ends by saying which
// live-database suites ran, which were skipped and why. It is the README's
// test command:
//
//	go run ./.ci/test            # go test -race -count=1 -p 4 work
//	go run ./.ci/test ./stores/... -run Store
//
// Arguments replace the default package pattern and flags; -json is always
// added. The output is go test's (package lines and failing tests' output),
// then the summary; the exit status is go test's.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		// Four packages at once on two cores: the slowest suites spend most
		// of their time waiting on databases and timers, not computing.
		args = []string{"-race", "-count=1", "-p", "4", "work"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	r := newRun(os.Stdout)
	if err := r.read(stdout); err != nil {
		fatal(err)
	}
	waitErr := cmd.Wait()

	suites, err := findSuites(r.packageNames())
	if err != nil {
		// The summary is a courtesy; the test result stands without it.
		fmt.Fprintln(os.Stderr, "test: finding the live-database suites:", err)
	}
	r.summarize(suites, os.Getenv, time.Since(start))

	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit):
		os.Exit(exit.ExitCode())
	case waitErr != nil:
		fatal(waitErr)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "test:", err)
	os.Exit(1)
}
