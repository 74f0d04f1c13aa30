package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxOtherSkips bounds the list of skips that are not about a backend.
const maxOtherSkips = 15

// summarize prints which live-database suites ran and which were skipped
// and why, the other skipped tests, and the overall result. suites maps a
// package to the variables of the backends it uses (findSuites).
func (r *run) summarize(suites map[string][]string, getenv func(string) string, took time.Duration) {
	short := shortener(r.packages)
	finished := map[string]bool{}
	for _, p := range r.packages {
		finished[p] = true
	}

	fmt.Fprintln(r.out, "\nlive-database suites:")
	claimed := make([]bool, len(r.skips))
	for _, b := range backends {
		var users []string // packages with a suite for b
		for p, envs := range suites {
			if finished[p] && slices.Contains(envs, b.env) {
				users = append(users, p)
			}
		}
		var skipped []string // packages that skipped tests naming b
		var reasons []string
		n := 0
		for i, s := range r.skips {
			if strings.Contains(s.reason, b.env) {
				claimed[i] = true
				n++
				skipped = append(skipped, s.pkg)
				reasons = append(reasons, short(s.pkg)+": "+s.reason)
			}
		}
		slices.Sort(skipped)
		skipped = slices.Compact(skipped)
		ran := slices.DeleteFunc(slices.Clone(users), func(p string) bool { return slices.Contains(skipped, p) })
		slices.Sort(ran)

		var line string
		switch set := getenv(b.env) != ""; {
		case set && len(ran) > 0:
			line = fmt.Sprintf("ran in %s (%s is set)", r.list(ran, short), b.env)
		case set:
			line = fmt.Sprintf("no suite ran, though %s is set", b.env)
		case len(skipped) == 0 && len(users) == 0:
			line = fmt.Sprintf("not run: %s is not set", b.env)
		default:
			line = fmt.Sprintf("skipped: %s is not set", b.env)
		}
		fmt.Fprintf(r.out, "  %-14s %s\n", b.name, line)
		if len(skipped) > 0 {
			fmt.Fprintf(r.out, "  %-14s %s skipped in %s; e.g. %s\n", "", plural(n, "test"), r.list(skipped, short), reasons[0])
		}
	}

	var other []string
	for i, s := range r.skips {
		if !claimed[i] {
			other = append(other, fmt.Sprintf("%s %s: %s", short(s.pkg), s.test, s.reason))
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(r.out, "other skipped tests (%d):\n", len(other))
		for i, o := range other {
			if i == maxOtherSkips {
				fmt.Fprintf(r.out, "  … and %d more\n", len(other)-i)
				break
			}
			fmt.Fprintf(r.out, "  %s\n", o)
		}
	}

	var failed []string
	for _, p := range r.packages {
		if r.failed[p] {
			failed = append(failed, short(p))
		}
	}
	took = took.Round(time.Second)
	if len(failed) > 0 {
		fmt.Fprintf(r.out, "FAIL: %d of %d packages failed in %s: %s\n", len(failed), len(r.packages), took, strings.Join(failed, ", "))
	} else {
		fmt.Fprintf(r.out, "ok: %s in %s\n", plural(len(r.packages), "package"), took)
	}
}

// list joins package names, marking those that failed.
func (r *run) list(pkgs []string, short func(string) string) string {
	var names []string
	for _, p := range pkgs {
		n := short(p)
		if r.failed[p] {
			n += " (FAIL)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// shortener returns a function that shortens package paths: the package
// most others lie below (the repository's root) reads ".", and those below
// it read as directories. Without such a package, the shared prefix goes.
func shortener(pkgs []string) func(string) string {
	root, most := "", 0
	for _, p := range pkgs {
		n := 0
		for _, q := range pkgs {
			if strings.HasPrefix(q, p+"/") {
				n++
			}
		}
		if n > most {
			root, most = p, n
		}
	}
	if root != "" {
		return func(p string) string {
			if p == root {
				return "."
			}
			if rel, ok := strings.CutPrefix(p, root+"/"); ok {
				return rel
			}
			return p
		}
	}
	if len(pkgs) < 2 {
		return func(p string) string { return p }
	}
	prefix := pkgs[0]
	for _, p := range pkgs[1:] {
		for !strings.HasPrefix(p, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	prefix = prefix[:strings.LastIndex(prefix, "/")+1]
	return func(p string) string { return strings.TrimPrefix(p, prefix) }
}

// plural says "1 test" or "2 tests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
