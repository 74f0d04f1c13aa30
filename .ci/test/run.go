package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// event is one line of go test -json (see cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type testKey struct{ pkg, test string }

// skip is a test that skipped, and the reason it logged.
type skip struct {
	pkg, test, reason string
}

// run follows one go test -json stream, printing what go test would print
// without -json and remembering what the summary needs.
type run struct {
	out      io.Writer
	pending  map[testKey][]string // output of tests still running
	skips    []skip
	failed   map[string]bool
	packages []string // in the order they finished
}

func newRun(out io.Writer) *run {
	return &run{out: out, pending: map[testKey][]string{}, failed: map[string]bool{}}
}

// read consumes the stream until it ends.
func (r *run) read(rd io.Reader) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(r.out, "%s\n", line) // not an event: pass it on
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *run) handle(e event) {
	done := e.Action == "pass" || e.Action == "fail" || e.Action == "skip"
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Test == "" && e.Action == "output":
		if e.Output != "PASS\n" { // go test without -json leaves it out
			fmt.Fprint(r.out, e.Output)
		}
	case e.Test == "" && done:
		r.packages = append(r.packages, e.Package)
		if e.Action == "fail" {
			r.failed[e.Package] = true
		}
	case e.Action == "output":
		k := testKey{e.Package, e.Test}
		r.pending[k] = append(r.pending[k], e.Output)
	case done:
		k := testKey{e.Package, e.Test}
		lines := r.pending[k]
		delete(r.pending, k)
		switch e.Action {
		case "fail":
			for _, l := range lines {
				if !strings.HasPrefix(l, "=== ") {
					fmt.Fprint(r.out, l)
				}
			}
		case "skip":
			r.skips = append(r.skips, skip{e.Package, e.Test, skipReason(lines)})
		}
	}
}

// logPrefix is what t.Log puts before a message: "file_test.go:12: ".
var logPrefix = regexp.MustCompile(`^[^\s:]+\.go:\d+: `)

// skipReason returns the first message a skipped test logged.
func skipReason(lines []string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		return logPrefix.ReplaceAllString(l, "")
	}
	return "no reason given"
}

// packageNames lists the packages that finished, in that order.
func (r *run) packageNames() []string { return r.packages }
